"""The PIN rules, implemented once: issue, verify, end and expire PINs. Views, admin and tasks call these."""

import datetime
import logging
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record, audit_record_many
from members.kvnr import kvnr_is_valid, kvnr_normalize
from members.models import Member

from . import hashing
from .constants import PIN_ALPHABET, EndReason, PinStatus, VerifyResult
from .format import pin_display, pin_generate, pin_parse
from .models import LetterPin

logger = logging.getLogger(__name__)

# Results that may be explained to the person at the keyboard: only reached after the PIN itself matched.
EXPLAINABLE = frozenset(
    {VerifyResult.EXPIRED, VerifyResult.CARD_INVALID, VerifyResult.ALREADY_USED, VerifyResult.REVOKED}
)


@dataclass(frozen=True)
class IssuedPin:
    """A new PIN. `plaintext` exists only here, once, for the letter; it is never stored or logged."""

    pin: LetterPin
    plaintext: str = field(repr=False)

    @property
    def display(self) -> str:
        return pin_display(self.plaintext)


@dataclass(frozen=True)
class VerifyOutcome:
    result: VerifyResult
    matched: bool = False
    pin: LetterPin | None = None
    member: Member | None = None

    @property
    def ok(self) -> bool:
        return self.result == VerifyResult.SUCCESS

    @property
    def may_explain(self) -> bool:
        """True when the portal may say precisely why the PIN cannot be used (the PIN itself matched)."""
        return self.matched and self.result in EXPLAINABLE


def _max_attempts() -> int:
    return settings.PIN_MAX_FAILED_ATTEMPTS


def pin_validity() -> datetime.timedelta:
    return datetime.timedelta(days=settings.PIN_VALIDITY_DAYS)


def pin_issue(*, member: Member, purpose: str, actor: Actor, now: datetime.datetime | None = None) -> IssuedPin:
    """Create a PIN for the member, valid for PIN_VALIDITY_DAYS; the member's other PINs stay valid."""
    now = now or timezone.now()
    used = set(LetterPin.objects.filter(member=member).values_list("selector", flat=True))
    for _attempt in range(5):
        free = [a + b for a in PIN_ALPHABET for b in PIN_ALPHABET if a + b not in used]
        if not free:
            raise RuntimeError("member has no free PIN selector left")
        selector = secrets.choice(free)
        plaintext = pin_generate(selector=selector)
        pin = LetterPin(
            user_id=member.user_id,
            member=member,
            name=f"Brief-PIN {now:%Y-%m-%d}",
            selector=selector,
            pin_hash=hashing.hash_pin(plaintext),
            purpose=purpose[:200],
            issued_at=now,
            expires_at=now + pin_validity(),
        )
        try:
            with transaction.atomic():
                pin.save()
                audit_record(
                    action=AuditAction.PIN_ISSUED,
                    actor=actor,
                    member=member,
                    reason=purpose,
                    data={"pin_id": pin.pk, "expires_at": pin.expires_at.isoformat()},
                )
        except IntegrityError:
            # Another PIN took this selector at the same moment: pick again.
            used.add(selector)
            continue
        return IssuedPin(pin=pin, plaintext=plaintext)
    raise RuntimeError("could not find a free PIN selector")


def _count_against_all(*, member: Member, ip: str | None, now: datetime.datetime) -> None:
    """A wrong entry that names none of the member's PINs counts against every active one."""
    with transaction.atomic():
        ids = list(
            LetterPin.objects.select_for_update()
            .filter(member=member, status=PinStatus.ACTIVE, failed_attempts__lt=_max_attempts())
            .values_list("pk", flat=True)
        )
        if ids:
            LetterPin.objects.filter(pk__in=ids).update(failed_attempts=F("failed_attempts") + 1)
        _lock_exhausted(member=member, ids=ids, ip=ip, now=now)
        audit_record(
            action=AuditAction.PIN_FAILURE,
            actor=Actor.system(),
            member=member,
            ip=ip,
            reason="no PIN with this selector",
            data={"counted_against": ids},
        )


def _lock_exhausted(*, member: Member, ids: list[int], ip: str | None, now: datetime.datetime) -> None:
    locked = list(
        LetterPin.objects.filter(pk__in=ids, status=PinStatus.ACTIVE, failed_attempts__gte=_max_attempts()).values_list(
            "pk", flat=True
        )
    )
    if locked:
        LetterPin.objects.filter(pk__in=locked).update(status=PinStatus.LOCKED, ended_at=now)
        audit_record_many(
            action=AuditAction.PIN_LOCKED,
            actor=Actor.system(),
            entries=[(member, {"pin_id": pk}) for pk in locked],
            reason="five wrong entries",
            ip=ip,
        )


def _result_after_match(*, pin: LetterPin, member: Member, now: datetime.datetime) -> VerifyResult:
    if pin.status == PinStatus.INVALIDATED:
        return VerifyResult.ALREADY_USED if pin.end_reason == EndReason.TRANSMITTED else VerifyResult.REVOKED
    if pin.status == PinStatus.EXPIRED or now >= pin.expires_at:
        return VerifyResult.EXPIRED
    if not member.card_is_valid(on=timezone.localdate(now)):
        return VerifyResult.CARD_INVALID
    return VerifyResult.SUCCESS


def pin_verify(*, kvnr: str, pin: str, ip: str | None) -> VerifyOutcome:
    """Check a login attempt. Exactly one Argon2 verification, whatever the KVNR and the member's PINs.

    The PIN's row is locked (SELECT ... FOR UPDATE) while its hash is checked and the attempt counted, so
    concurrent attempts on one PIN are evaluated one after another and each sees the count the previous one
    left: never more than PIN_MAX_FAILED_ATTEMPTS wrong guesses are evaluated. A locked PIN is never
    evaluated again. One transaction, one commit per attempt.
    """
    now = timezone.now()
    parsed = pin_parse(pin)
    normalized_kvnr = kvnr_normalize(kvnr) if isinstance(kvnr, str) else ""
    if not kvnr_is_valid(normalized_kvnr):
        hashing.verify_dummy(parsed.normalized if parsed else "")
        return VerifyOutcome(result=VerifyResult.UNKNOWN)

    with transaction.atomic():
        row = None
        if parsed is not None:
            # The usual case, a PIN of this member, costs one query for the member and the PIN together.
            row = (
                LetterPin.objects.select_for_update(of=("self",))
                .select_related("member__user")
                .filter(member__kvnr=normalized_kvnr, selector=parsed.selector)
                .first()
            )
        member = row.member if row else Member.objects.filter(kvnr=normalized_kvnr).first()
        if member is None or parsed is None or row is None:
            hashing.verify_dummy(parsed.normalized if parsed else "")
            if member is None:
                return VerifyOutcome(result=VerifyResult.UNKNOWN)
            if parsed is not None:
                _count_against_all(member=member, ip=ip, now=now)
            return VerifyOutcome(result=VerifyResult.WRONG, member=member)

        if row.status == PinStatus.LOCKED or row.failed_attempts >= _max_attempts():
            hashing.verify_dummy(parsed.normalized)
            audit_record(
                action=AuditAction.PIN_FAILURE, actor=Actor.system(), member=member, ip=ip,
                reason="PIN locked", data={"pin_id": row.pk},
            )  # fmt: skip
            return VerifyOutcome(result=VerifyResult.LOCKED, member=member, pin=row)

        if not hashing.verify_pin(row.pin_hash, parsed.normalized):
            row.failed_attempts += 1
            LetterPin.objects.filter(pk=row.pk).update(failed_attempts=F("failed_attempts") + 1)
            audit_record(
                action=AuditAction.PIN_FAILURE, actor=Actor.system(), member=member, ip=ip,
                reason="wrong PIN", data={"pin_id": row.pk},
            )  # fmt: skip
            _lock_exhausted(member=member, ids=[row.pk], ip=ip, now=now)
            return VerifyOutcome(result=VerifyResult.WRONG, member=member, pin=row)

        # The PIN matched: the portal may say why it cannot be used.
        result = _result_after_match(pin=row, member=member, now=now)
        if result == VerifyResult.SUCCESS:
            changes = {"last_login_at": now}
            if hashing.needs_rehash(row.pin_hash):
                changes["pin_hash"] = hashing.hash_pin(parsed.normalized)
            LetterPin.objects.filter(pk=row.pk).update(**changes)
            for name, value in changes.items():
                setattr(row, name, value)
        audit_record(
            action=AuditAction.PIN_SUCCESS if result == VerifyResult.SUCCESS else AuditAction.PIN_FAILURE,
            actor=Actor.member(member.user),
            member=member,
            ip=ip,
            reason="" if result == VerifyResult.SUCCESS else f"PIN matched but {result.value}",
            data={"pin_id": row.pk},
        )
    return VerifyOutcome(result=result, matched=True, member=member, pin=row)


def pin_is_usable(*, pin: LetterPin, now: datetime.datetime | None = None) -> bool:
    """Whether a session opened with this PIN may go on (it is active and not past its 60 days)."""
    now = now or timezone.now()
    return pin.status == PinStatus.ACTIVE and now < pin.expires_at


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
    """Mark PINs past their 60 days as expired, in batches; the work grows with the expired rows only."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                LetterPin.objects.select_for_update(skip_locked=True)
                .filter(status=PinStatus.ACTIVE, expires_at__lte=now)
                .values_list("pk", "member_id")[:batch_size]
            )
            if not rows:
                return total
            LetterPin.objects.filter(pk__in=[pk for pk, _ in rows]).update(status=PinStatus.EXPIRED, ended_at=now)
            audit_record_many(
                action=AuditAction.PIN_EXPIRED,
                actor=Actor.system(),
                entries=[(member_id, {"pin_id": pk}) for pk, member_id in rows],
                reason="60 days",
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
