"""The PIN rules, implemented once: issue, verify, end and expire PINs. Views, admin and tasks call these."""

import datetime
import logging
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_event, audit_insert, audit_record, audit_record_many
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


def pin_valid_until(*, issued_at: datetime.datetime) -> datetime.datetime:
    """The last instant a PIN issued then works: the end of the PIN_VALIDITY_DAYS-th day, in the portal's zone.

    The letter prints that day ("gültig bis einschließlich 31. Januar 2027"), the dashboard and the staff pages
    show it: they all read this value (LetterPin.expires_at), so the PIN works through the whole stated day,
    whatever the time of day it was issued and across a change to or from summer time.
    """
    zone = timezone.get_default_timezone()
    last_day = timezone.localtime(issued_at, zone).date() + pin_validity()
    return datetime.datetime.combine(last_day, datetime.time.max, tzinfo=zone)


def pin_is_expired(*, pin: LetterPin, now: datetime.datetime) -> bool:
    """Whether the PIN's stated last day is over (expires_at is the last instant it works, inclusive)."""
    return pin.status == PinStatus.EXPIRED or now > pin.expires_at


def pin_issue(*, member: Member, purpose: str, actor: Actor, now: datetime.datetime | None = None) -> IssuedPin:
    """Create a PIN for the member, valid through the PIN_VALIDITY_DAYS-th day; the member's other PINs stay valid."""
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
            expires_at=pin_valid_until(issued_at=now),
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


@dataclass
class _Attempt:
    """What one login attempt decided, before anything is written: the rules' answer in plain values."""

    result: VerifyResult
    member: Member | None = None
    pin: LetterPin | None = None
    matched: bool = False
    counted: list[LetterPin] = field(default_factory=list)  # PINs this wrong entry counts against
    reason: str = ""


def _attempt_rows(*, kvnr: str, selector: str) -> list[LetterPin]:
    """One statement: the member's active PINs and the PIN the selector names, row-locked, with member and user.

    The same query runs for every attempt; an unknown KVNR (or a malformed entry, kvnr "") finds no rows.
    Rows are locked in id order, so two attempts on one member never wait for each other in a circle.
    """
    return list(
        LetterPin.objects.select_for_update(of=("self",))
        .select_related("member__user")
        .filter(member__kvnr=kvnr)
        .filter(Q(status=PinStatus.ACTIVE) | Q(selector=selector))
        .order_by("pk")
    )


def _attempt_decide(*, rows: list[LetterPin], selector: str, normalized: str, now: datetime.datetime) -> _Attempt:
    """The PIN rules for one attempt. Exactly one Argon2 verification on every path."""
    member = rows[0].member if rows else None
    target = next((row for row in rows if row.selector == selector), None) if selector else None
    if member is None or target is None:
        hashing.verify_dummy(normalized)
        if member is None:
            return _Attempt(result=VerifyResult.UNKNOWN, reason="unknown KVNR")
        # A wrong entry whose selector names none of the member's PINs counts against every active one.
        active = [row for row in rows if row.status == PinStatus.ACTIVE and row.failed_attempts < _max_attempts()]
        return _Attempt(result=VerifyResult.WRONG, member=member, counted=active, reason="no PIN with this selector")
    if target.status == PinStatus.LOCKED or target.failed_attempts >= _max_attempts():
        # A locked PIN is never evaluated again: the portal can never say "locked" after a match.
        hashing.verify_dummy(normalized)
        return _Attempt(result=VerifyResult.LOCKED, member=member, pin=target, reason="PIN locked")
    if not hashing.verify_pin(target.pin_hash, normalized):
        return _Attempt(result=VerifyResult.WRONG, member=member, pin=target, counted=[target], reason="wrong PIN")
    result = _result_after_match(pin=target, member=member, now=now)
    reason = "" if result == VerifyResult.SUCCESS else f"PIN matched but {result.value}"
    return _Attempt(result=result, member=member, pin=target, matched=True, reason=reason)


def _attempt_write(*, attempt: _Attempt, normalized: str, ip: str | None, now: datetime.datetime) -> None:
    """Two statements for every attempt, whatever it decided: one UPDATE of PINs and one INSERT of audit rows.

    A wrong entry adds one to each counted PIN and locks those that reach the limit; an attempt that counts
    against nothing (unknown KVNR, locked PIN, a match) still runs its UPDATE, on an id no row has, so the
    database does the same kind of work whether or not the KVNR exists.
    """
    limit = _max_attempts()
    pins = LetterPin.objects.filter(pk__in=[row.pk for row in attempt.counted] or [0])
    if attempt.result == VerifyResult.SUCCESS:
        changes = {"last_login_at": now}
        if hashing.needs_rehash(attempt.pin.pin_hash):
            changes["pin_hash"] = hashing.hash_pin(normalized)
        LetterPin.objects.filter(pk=attempt.pin.pk).update(**changes)
        for name, value in changes.items():
            setattr(attempt.pin, name, value)
    else:
        reaches_limit = Q(failed_attempts__gte=limit - 1)
        pins.update(
            failed_attempts=F("failed_attempts") + 1,
            status=Case(When(reaches_limit, then=Value(PinStatus.LOCKED)), default=F("status")),
            ended_at=Case(When(reaches_limit, then=Value(now)), default=F("ended_at")),
        )
    locked = []
    for row in attempt.counted:
        row.failed_attempts += 1
        if row.failed_attempts >= limit:
            row.status, row.ended_at = PinStatus.LOCKED, now
            locked.append(row)

    member = attempt.member
    actor = Actor.member(member.user) if attempt.matched else Actor.system()
    if attempt.result == VerifyResult.SUCCESS:
        action, data = AuditAction.PIN_SUCCESS, {"pin_id": attempt.pin.pk}
    elif attempt.reason == "no PIN with this selector":
        action, data = AuditAction.PIN_FAILURE, {"counted_against": [row.pk for row in attempt.counted]}
    else:
        action, data = AuditAction.PIN_FAILURE, {"pin_id": attempt.pin.pk} if attempt.pin else {}
    events = [audit_event(action=action, actor=actor, member=member, ip=ip, reason=attempt.reason, data=data)]
    events += [
        audit_event(
            action=AuditAction.PIN_LOCKED,
            actor=Actor.system(),
            member=member,
            ip=ip,
            reason="five wrong entries",
            data={"pin_id": row.pk},
        )
        for row in locked
    ]
    audit_insert(events=events)


def _result_after_match(*, pin: LetterPin, member: Member, now: datetime.datetime) -> VerifyResult:
    if pin.status == PinStatus.INVALIDATED:
        return VerifyResult.ALREADY_USED if pin.end_reason == EndReason.TRANSMITTED else VerifyResult.REVOKED
    if pin_is_expired(pin=pin, now=now):
        return VerifyResult.EXPIRED
    if not member.card_is_valid(on=timezone.localdate(now)):
        return VerifyResult.CARD_INVALID
    return VerifyResult.SUCCESS


def pin_verify(*, kvnr: str, pin: str, ip: str | None) -> VerifyOutcome:
    """Check a login attempt with equal work on every path: one lookup, one Argon2 verification, one write.

    Unknown KVNR, wrong PIN, a selector naming no PIN and a locked PIN run the same statements: the lookup
    (one SELECT ... FOR UPDATE), one Argon2 verification (a dummy one where there is no hash to check), one
    UPDATE of the counted PINs and one INSERT of audit rows, then the commit. The PIN rows stay locked while
    the hash is checked and the attempt counted, so concurrent attempts on one PIN are evaluated one after
    another and each sees the count the previous one left: never more than PIN_MAX_FAILED_ATTEMPTS wrong
    guesses are evaluated.
    """
    now = timezone.now()
    parsed = pin_parse(pin)
    normalized_kvnr = kvnr_normalize(kvnr) if isinstance(kvnr, str) else ""
    well_formed = parsed is not None and kvnr_is_valid(normalized_kvnr)
    selector = parsed.selector if parsed else ""
    normalized = parsed.normalized if parsed else ""
    with transaction.atomic():
        _attempt_durability()
        rows = _attempt_rows(kvnr=normalized_kvnr if well_formed else "", selector=selector)
        attempt = _attempt_decide(rows=rows, selector=selector, normalized=normalized, now=now)
        _attempt_write(attempt=attempt, normalized=normalized, ip=ip, now=now)
    return VerifyOutcome(result=attempt.result, matched=attempt.matched, member=attempt.member, pin=attempt.pin)


def _attempt_durability() -> None:
    """PIN_ATTEMPT_SYNCHRONOUS_COMMIT=False lets the attempt's commit return before its WAL reaches the disk.

    The commit's flush is the largest cost beside Argon2 on a slow disk. Off, a crash of the database server
    can lose the attempts of its last fraction of a second (wal_writer_delay x 3): counters and audit rows
    that were answered but not yet on disk. The row lock and the five-entry rule are unchanged while it runs.
    """
    if not settings.PIN_ATTEMPT_SYNCHRONOUS_COMMIT and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")


def pin_is_usable(*, pin: LetterPin, now: datetime.datetime | None = None) -> bool:
    """Whether a session opened with this PIN may go on (it is active and its stated last day is not over)."""
    now = now or timezone.now()
    return pin.status == PinStatus.ACTIVE and not pin_is_expired(pin=pin, now=now)


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
