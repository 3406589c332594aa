"""Writing audit events: one row per event, or many in one statement; never a secret in them."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from django.contrib.auth.models import AbstractBaseUser
from django.db import DEFAULT_DB_ALIAS, connections

from .constants import ActorKind
from .models import AuditEvent

# Keys that would carry a secret; audit data must never hold a PIN, a hash or a password.
_FORBIDDEN_KEYS = frozenset({"pin", "plaintext", "pin_hash", "hash", "password", "secret", "token", "otp"})


@dataclass(frozen=True)
class Actor:
    """Who did something: a member, a staff user, or the system (tasks, commands)."""

    kind: ActorKind
    user: AbstractBaseUser | None = None

    @classmethod
    def system(cls) -> "Actor":
        return cls(kind=ActorKind.SYSTEM)

    @classmethod
    def staff(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind=ActorKind.STAFF, user=user)

    @classmethod
    def member(cls, user: AbstractBaseUser) -> "Actor":
        return cls(kind=ActorKind.MEMBER, user=user)


def _check_data(data: dict[str, Any] | None) -> dict[str, Any]:
    data = dict(data or {})
    bad = _FORBIDDEN_KEYS.intersection(key.lower() for key in data)
    if bad:
        raise ValueError(f"audit data must not hold secrets: {sorted(bad)}")
    return data


class EventFields(TypedDict, total=False):
    """What one audit event says: action and actor always; the member it is about, the client IP, why, details."""

    action: Required[str]
    actor: Required[Actor]
    member: Any
    ip: str | None
    reason: str
    data: dict[str, Any] | None


def audit_event(**fields: Unpack[EventFields]) -> AuditEvent:
    """An event not yet written, for audit_insert: several events of different kinds in one statement."""
    unknown = fields.keys() - EventFields.__required_keys__ - EventFields.__optional_keys__
    missing = EventFields.__required_keys__ - fields.keys()
    if unknown or missing:
        raise TypeError(f"audit event: unknown fields {sorted(unknown)}, missing {sorted(missing)}")
    actor = fields["actor"]
    return AuditEvent(
        action=str(fields["action"]),
        actor_kind=actor.kind,
        actor_user=actor.user,
        member=fields.get("member"),
        ip=fields.get("ip") or None,
        reason=fields.get("reason", "")[:200],
        data=_check_data(fields.get("data")),
    )


def audit_record(**fields: Unpack[EventFields]) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records."""
    event = audit_event(**fields)
    event.save()
    return event


def audit_record_many(
    *,
    action: str,
    actor: Actor,
    entries: Iterable[tuple[Any, dict[str, Any] | None]],
    reason: str = "",
    ip: str | None = None,
) -> int:
    """Append one event per (member or member id, data) pair in one bulk statement; returns the count."""
    events = []
    for member, data in entries:
        event = audit_event(action=action, actor=actor, ip=ip, reason=reason, data=data)
        if isinstance(member, int):
            event.member_id = member
        else:
            event.member = member
        events.append(event)
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)


def audit_insert_statement(*, events: list[AuditEvent], connection) -> tuple[str, list[Any]]:
    """One INSERT of events made by audit_event, as SQL and parameters for `connection` (not yet run).

    For a hot path that sends it together with its own statements (the login attempt): the same rows
    bulk_create would write, without compiling a query per call. The rows' ids are not read back.
    """
    fields = _insert_fields()
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [field.get_db_prep_save(getattr(event, field.attname), connection) for event in events for field in fields]
    # Only names from the model's metadata and placeholders go into the text; every value is a parameter.
    values = ", ".join([row] * len(events))
    return f"INSERT INTO {table} ({columns}) VALUES {values}", params  # noqa: S608 - names from _meta


def _insert_fields() -> list:
    return [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]


def audit_insert(*, events: list[AuditEvent], using: str = DEFAULT_DB_ALIAS) -> None:
    """Write events made by audit_event in one INSERT (the statement of audit_insert_statement)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(*audit_insert_statement(events=events, connection=connection))
