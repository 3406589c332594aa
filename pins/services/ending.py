"""Ending PINs: invalidating them (transmission, a cancelled letter), expiring them after their day, purging them."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record, audit_record_many
from members.models import Member

from ..constants import EndReason, PinStatus
from ..models import LetterPin

logger = logging.getLogger(__name__)


def pin_invalidate_all(*, member: Member, reason: EndReason, actor: Actor) -> int:
    """End every PIN of the member that still works (on transmission), in one statement; returns the count."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            LetterPin.objects.select_for_update()
            .filter(member=member, status=PinStatus.ACTIVE)
            .values_list("pk", flat=True)
        )
        LetterPin.objects.filter(pk__in=ids).update(status=PinStatus.INVALIDATED, end_reason=reason, ended_at=now)
        if ids:
            audit_record_many(
                action=AuditAction.PIN_INVALIDATED,
                actor=actor,
                entries=[(member, {"pin_id": pk}) for pk in ids],
                reason=str(reason),
            )
    return len(ids)


def pin_invalidate(*, pin: LetterPin, reason: EndReason, actor: Actor) -> bool:
    """End one PIN (its letter was cancelled); False when it had already ended."""
    with transaction.atomic():
        changed = LetterPin.objects.filter(pk=pin.pk, status=PinStatus.ACTIVE).update(
            status=PinStatus.INVALIDATED, end_reason=reason, ended_at=timezone.now()
        )
        if changed:
            audit_record(
                action=AuditAction.PIN_INVALIDATED,
                actor=actor,
                member=pin.member,
                reason=str(reason),
                data={"pin_id": pin.pk},
            )
    pin.refresh_from_db()
    return bool(changed)


def pin_expire_due(*, now: datetime.datetime | None = None, batch_size: int = 1000) -> int:
    """Mark PINs whose stated last day is over as expired, in batches; the work grows with the expired rows only."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                LetterPin.objects.select_for_update(skip_locked=True)
                .filter(status=PinStatus.ACTIVE, expires_at__lt=now)
                .values_list("pk", "member_id")[:batch_size]
            )
            if not rows:
                return total
            LetterPin.objects.filter(pk__in=[pk for pk, _ in rows]).update(status=PinStatus.EXPIRED, ended_at=now)
            audit_record_many(
                action=AuditAction.PIN_EXPIRED,
                actor=Actor.system(),
                entries=[(member_id, {"pin_id": pk}) for pk, member_id in rows],
                reason=f"{settings.PIN_VALIDITY_DAYS} days",
            )
        total += len(rows)


def pin_purge_dead(*, now: datetime.datetime | None = None, batch_size: int = 1000) -> int:
    """Delete PINs that ended more than PIN_PURGE_AFTER_DAYS ago, in batches; returns the count."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.PIN_PURGE_AFTER_DAYS)
    total = 0
    while True:
        ids = list(
            LetterPin.objects.exclude(status=PinStatus.ACTIVE)
            .filter(ended_at__lt=cutoff)
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        LetterPin.objects.filter(pk__in=ids).delete()
        total += len(ids)
    if total:
        logger.info("purged %d ended PINs", total)
    return total
