"""The member's draft: one per member, created on first use, autosaved with a version against stale tabs."""

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from members.models import Member

from ..constants import DRAFT_FIELDS
from ..exceptions import DraftConflict
from ..models import Draft


def draft_get_or_create(*, member: Member) -> Draft:
    """The member's one open draft, created empty on first use."""
    draft = Draft.objects.filter(member=member).first()
    if draft is not None:
        return draft
    try:
        with transaction.atomic():
            return Draft.objects.create(member=member)
    except IntegrityError:
        # A second tab created it at the same moment.
        return Draft.objects.get(member=member)


def draft_autosave(*, draft: Draft, version: int, fields: dict[str, Any], actor: Actor) -> Draft:
    """Save the draft's fields if `version` is still the latest; raises DraftConflict for a stale writer."""
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise ValueError(f"not draft fields: {sorted(unknown)}")
    with transaction.atomic():
        changed = Draft.objects.filter(pk=draft.pk, version=version).update(
            **fields, version=F("version") + 1, updated_at=timezone.now()
        )
        if not changed:
            current = Draft.objects.filter(pk=draft.pk).values_list("version", flat=True).first()
            raise DraftConflict(current_version=current or 0)
        audit_record(
            action=AuditAction.DRAFT_SAVED,
            actor=actor,
            member=draft.member,
            data={"draft": str(draft.public_id), "version": version + 1},
        )
    draft.refresh_from_db()
    return draft
