"""Writes to members: create or update, import CSV rows, language, address; each with its audit row."""

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record

from .dates import date_parse
from .kvnr import kvnr_normalize
from .models import Member

MEMBER_FIELDS = (
    "first_name",
    "last_name",
    "address_line",
    "street",
    "postcode",
    "town",
    "egk_valid_until",
    "language",
)
REQUIRED_COLUMNS = ("kvnr", "first_name", "last_name", "street", "postcode", "town", "egk_valid_until")
OPTIONAL_COLUMNS = ("address_line", "language")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    members: list[Member] = field(default_factory=list)


class MemberImportError(Exception):
    """Raised with every bad row (line number and reason); nothing has been written."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        super().__init__(f"{len(errors)} bad row(s)")


def _new_member_user():
    # Members never log in with a password; the username is random so it reveals nothing.
    user_model = get_user_model()
    user = user_model(username=f"member-{secrets.token_hex(8)}")
    user.set_unusable_password()
    user.save()
    return user


def member_upsert(*, kvnr: str, data: Mapping[str, object], actor: Actor | None = None) -> tuple[Member, bool]:
    """Create the member with this KVNR or update its fields; returns (member, created). Validates fully.

    Audited in the same transaction (the system by default: the import and the demo): a new member as
    member.imported, a changed one as member.updated with the names of the changed fields, never their values.
    """
    actor = actor or Actor.system()
    kvnr = kvnr_normalize(kvnr)
    values = {name: data[name] for name in MEMBER_FIELDS if name in data}
    values.setdefault("address_line", "")
    values.setdefault("language", "de")
    with transaction.atomic():
        member = Member.objects.select_for_update().filter(kvnr=kvnr).first()
        created = member is None
        if created:
            member = Member(kvnr=kvnr, **values)
            member.full_clean(exclude=["user"])
            member.user = _new_member_user()
            member.save()
            audit_record(action=AuditAction.MEMBER_IMPORTED, actor=actor, member=member)
        else:
            changed = [name for name, value in values.items() if getattr(member, name) != value]
            for name, value in values.items():
                setattr(member, name, value)
            member.full_clean(exclude=["user"])
            member.save(update_fields=[*values, "updated_at"])
            if changed:
                audit_record(action=AuditAction.MEMBER_UPDATED, actor=actor, member=member, data={"fields": changed})
    return member, created


def member_lock(*, member: Member) -> Member:
    """Lock the member's row until the caller's transaction ends (writes about one member one after the other)."""
    return Member.objects.select_for_update().get(pk=member.pk)


def member_set_language(*, member: Member, language: str, actor: Actor | None = None) -> bool:
    """Remember the member's chosen language (one of settings.LANGUAGES); True when it changed.

    The member chooses it (the default actor); the change is audited in the same transaction.
    """
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    if member.language == language:
        return False
    with transaction.atomic():
        member.language = language
        member.save(update_fields=["language", "updated_at"])
        audit_record(
            action=AuditAction.MEMBER_LANGUAGE_CHANGED,
            actor=actor or Actor.member(member.user),
            member=member,
            data={"fields": ["language"]},
        )
    return True


def _row_values(row: Mapping[str, str | None]) -> tuple[str, dict[str, object]]:
    missing = [name for name in REQUIRED_COLUMNS if not (row.get(name) or "").strip()]
    if missing:
        raise ValidationError(_("Pflichtfeld fehlt: %(fields)s") % {"fields": ", ".join(missing)})
    values: dict[str, object] = {
        name: (row.get(name) or "").strip() for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name != "kvnr"
    }
    card_date = date_parse(str(values["egk_valid_until"]))
    if card_date is None:
        raise ValidationError(
            _("Datum „%(value)s“ ist weder JJJJ-MM-TT noch TT.MM.JJJJ.")
            % {"value": str(values["egk_valid_until"])[:40]}
        )
    values["egk_valid_until"] = card_date
    values["language"] = str(values["language"] or "de").lower()
    return kvnr_normalize(row.get("kvnr") or ""), values


def _describe(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items())
    return " ".join(error.messages)


def member_import_rows(*, rows: Iterable[tuple[int, Mapping[str, str | None]]]) -> ImportReport:
    """Import (line number, row) pairs: all rows or none. Every bad row is reported in MemberImportError."""
    errors: list[tuple[int, str]] = []
    report = ImportReport()
    seen: dict[str, int] = {}
    with transaction.atomic():
        for line, row in rows:
            try:
                kvnr, values = _row_values(row)
                if kvnr in seen:
                    raise ValidationError(_("KVNR doppelt, zuerst in Zeile %(line)d") % {"line": seen[kvnr]})
                seen[kvnr] = line
                with transaction.atomic():
                    member, created = member_upsert(kvnr=kvnr, data=values)
            except ValidationError as error:
                errors.append((line, _describe(error)))
                continue
            report.members.append(member)
            if created:
                report.created += 1
            else:
                report.updated += 1
        if errors:
            # Raising inside the atomic block rolls back every row already written.
            raise MemberImportError(errors)
    return report


ADDRESS_FIELDS = ("address_line", "street", "postcode", "town")


def member_change_address(
    *, member: Member, address_line: str, street: str, postcode: str, town: str, actor: Actor, ip: str | None = None
) -> dict[str, tuple[str, str]]:
    """Correct the postal address; returns {field: (old, new)} for what changed. Validates fully.

    Audited in the same transaction as member.address_changed with the changed fields' old and new values, so
    the call centre can tell where an earlier letter went.
    """
    new = {"address_line": address_line, "street": street, "postcode": postcode, "town": town}
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        changed = {
            name: (getattr(locked, name), value) for name, value in new.items() if getattr(locked, name) != value
        }
        if not changed:
            return {}
        for name, (_old, value) in changed.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["user"])
        locked.save(update_fields=[*changed, "updated_at"])
        audit_record(
            action=AuditAction.MEMBER_ADDRESS_CHANGED,
            actor=actor,
            member=locked,
            ip=ip,
            data={"changed": {name: list(values) for name, values in changed.items()}},
        )
    for name, (_old, value) in changed.items():
        setattr(member, name, value)
    return changed
