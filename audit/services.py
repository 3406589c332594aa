"""Writing audit events: one row per event, or many in one statement; never a secret in them."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

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


def _event(
    *, action: str, actor: Actor, member: Any, ip: str | None, reason: str, data: dict[str, Any] | None
) -> AuditEvent:
    return AuditEvent(
        action=str(action),
        actor_kind=actor.kind,
        actor_user=actor.user,
        member=member,
        ip=ip or None,
        reason=reason[:200],
        data=_check_data(data),
    )


def audit_record(
    *,
    action: str,
    actor: Actor,
    member: Any = None,
    ip: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it records."""
    event = _event(action=action, actor=actor, member=member, ip=ip, reason=reason, data=data)
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
        event = _event(action=action, actor=actor, member=None, ip=ip, reason=reason, data=data)
        if isinstance(member, int):
            event.member_id = member
        else:
            event.member = member
        events.append(event)
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    return len(events)


def audit_event(
    *,
    action: str,
    actor: Actor,
    member: Any = None,
    ip: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """An event not yet written, for audit_insert: several events of different kinds in one statement."""
    return _event(action=action, actor=actor, member=member, ip=ip, reason=reason, data=data)


def audit_insert(*, events: list[AuditEvent]) -> None:
    """Write events made by audit_event in one INSERT (the login path writes the same statement every time)."""
    AuditEvent.objects.bulk_create(events)
