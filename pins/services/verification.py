"""Checking a login attempt: the KVNR and PIN parsed once, then one lookup, one Argon2 verification, one write."""

import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_event, audit_insert
from members.kvnr import kvnr_is_valid, kvnr_normalize
from members.models import Member

from .. import hashing
from ..constants import EndReason, PinStatus, VerifyResult
from ..format import ParsedPin, pin_parse
from ..models import LetterPin
from .validity import pin_is_expired

# Results that may be explained to the person at the keyboard: only reached after the PIN itself matched.
EXPLAINABLE = frozenset(
    {VerifyResult.EXPIRED, VerifyResult.CARD_INVALID, VerifyResult.ALREADY_USED, VerifyResult.REVOKED}
)
_NO_SELECTOR = "no PIN with this selector"


@dataclass(frozen=True)
class LoginEntry:
    """What was typed at the login, parsed once: a normalised KVNR with a valid check digit, and the PIN.

    Either part may be missing ("" / None) when it was malformed: the attempt then finds no rows, and costs
    what every other failing attempt costs.
    """

    kvnr: str = ""
    pin: ParsedPin | None = None


def login_entry_parse(*, kvnr: object, pin: object) -> LoginEntry:
    """Parse a KVNR and a PIN as typed (spaces, hyphens, lower case); a malformed KVNR becomes ""."""
    normalized_kvnr = kvnr_normalize(kvnr) if isinstance(kvnr, str) else ""
    return LoginEntry(kvnr=normalized_kvnr if kvnr_is_valid(normalized_kvnr) else "", pin=pin_parse(pin))


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


@dataclass
class _Attempt:
    """What one login attempt decided, before anything is written: the rules' answer in plain values."""

    result: VerifyResult
    member: Member | None = None
    pin: LetterPin | None = None
    matched: bool = False
    counted: list[LetterPin] = field(default_factory=list)  # the PIN this wrong entry counts against (or none)
    reason: str = ""


def _max_attempts() -> int:
    return settings.PIN_MAX_FAILED_ATTEMPTS


def _limit_reached(failed_attempts: int) -> bool:
    """The insurer's rule, in one place: a PIN with PIN_MAX_FAILED_ATTEMPTS wrong entries is locked."""
    return failed_attempts >= _max_attempts()


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
        hashing.pin_hash_verify_dummy(normalized)
        if member is None:
            return _Attempt(result=VerifyResult.UNKNOWN, reason="unknown KVNR")
        # A selector naming none of the member's PINs counts against no PIN: whoever knows a KVNR must not be
        # able to lock that member out. The guess still counts against its address and the global budget (web).
        return _Attempt(result=VerifyResult.WRONG, member=member, reason=_NO_SELECTOR)
    if target.status == PinStatus.LOCKED or _limit_reached(target.failed_attempts):
        # A locked PIN is never evaluated again: the portal can never say "locked" after a match.
        hashing.pin_hash_verify_dummy(normalized)
        return _Attempt(result=VerifyResult.LOCKED, member=member, pin=target, reason="PIN locked")
    if not hashing.pin_hash_verify(target.pin_hash, normalized):
        return _Attempt(result=VerifyResult.WRONG, member=member, pin=target, counted=[target], reason="wrong PIN")
    result = _result_after_match(pin=target, member=member, now=now)
    reason = "" if result == VerifyResult.SUCCESS else f"PIN matched but {result.value}"
    return _Attempt(result=result, member=member, pin=target, matched=True, reason=reason)


def _result_after_match(*, pin: LetterPin, member: Member, now: datetime.datetime) -> VerifyResult:
    if pin.status == PinStatus.INVALIDATED:
        return VerifyResult.ALREADY_USED if pin.end_reason == EndReason.TRANSMITTED else VerifyResult.REVOKED
    if pin_is_expired(pin=pin, now=now):
        return VerifyResult.EXPIRED
    if not member.card_is_valid(on=timezone.localdate(now)):
        return VerifyResult.CARD_INVALID
    return VerifyResult.SUCCESS


def _attempt_write(*, attempt: _Attempt, normalized: str, ip: str | None, now: datetime.datetime) -> None:
    """Two statements for every attempt, whatever it decided: one UPDATE of PINs and one INSERT of audit rows.

    A wrong entry adds one to the PIN it names and locks it when it reaches the limit; an attempt that counts
    against nothing (unknown KVNR, a selector naming no PIN, a locked PIN, a match) still runs its UPDATE, on an
    id no row has, so the database does the same kind of work whether or not the KVNR exists. The counted rows
    are row-locked since the lookup, so their counts here are the database's.
    """
    locked = []
    for row in attempt.counted:
        row.failed_attempts += 1
        if _limit_reached(row.failed_attempts):
            row.status, row.ended_at = PinStatus.LOCKED, now
            locked.append(row)
    if attempt.result == VerifyResult.SUCCESS:
        changes = {"last_login_at": now}
        if hashing.pin_hash_needs_rehash(attempt.pin.pin_hash):
            changes["pin_hash"] = hashing.pin_hash_create(normalized)
        LetterPin.objects.filter(pk=attempt.pin.pk).update(**changes)
        for name, value in changes.items():
            setattr(attempt.pin, name, value)
    else:
        locks = Q(pk__in=[row.pk for row in locked] or [0])
        LetterPin.objects.filter(pk__in=[row.pk for row in attempt.counted] or [0]).update(
            failed_attempts=F("failed_attempts") + 1,
            status=Case(When(locks, then=Value(PinStatus.LOCKED)), default=F("status")),
            ended_at=Case(When(locks, then=Value(now)), default=F("ended_at")),
        )
    audit_insert(events=_attempt_events(attempt=attempt, locked=locked, ip=ip, limit=_max_attempts()))


def _attempt_events(*, attempt: _Attempt, locked: list[LetterPin], ip: str | None, limit: int) -> list:
    """The attempt's audit rows: its success or failure, and one row for each PIN it locked."""
    member = attempt.member
    actor = Actor.member(member.user) if attempt.matched else Actor.system()
    if attempt.result == VerifyResult.SUCCESS:
        action, data = AuditAction.PIN_SUCCESS, {"pin_id": attempt.pin.pk}
    else:
        action, data = AuditAction.PIN_FAILURE, {"pin_id": attempt.pin.pk} if attempt.pin else {}
    events = [audit_event(action=action, actor=actor, member=member, ip=ip, reason=attempt.reason, data=data)]
    events += [
        audit_event(
            action=AuditAction.PIN_LOCKED,
            actor=Actor.system(),
            member=member,
            ip=ip,
            reason=f"{limit} wrong entries",
            data={"pin_id": row.pk},
        )
        for row in locked
    ]
    return events


def pin_verify(*, kvnr: str, pin: str, ip: str | None) -> VerifyOutcome:
    """Check a KVNR and PIN as typed (scripts, the demo, tests): parsed here once, then pin_verify_entry."""
    return pin_verify_entry(entry=login_entry_parse(kvnr=kvnr, pin=pin), ip=ip)


def pin_verify_entry(*, entry: LoginEntry, ip: str | None) -> VerifyOutcome:
    """Check a parsed login attempt with equal work on every path: one lookup, one Argon2 verification, one write.

    Unknown KVNR, wrong PIN, a selector naming no PIN and a locked PIN run the same statements: the lookup
    (one SELECT ... FOR UPDATE), one Argon2 verification (a dummy one where there is no hash to check), one
    UPDATE of the counted PINs and one INSERT of audit rows, then the commit. The PIN rows stay locked while
    the hash is checked and the attempt counted, so concurrent attempts on one PIN are evaluated one after
    another and each sees the count the previous one left: never more than PIN_MAX_FAILED_ATTEMPTS wrong
    guesses are evaluated.
    """
    now = timezone.now()
    parsed = entry.pin
    selector = parsed.selector if parsed else ""
    normalized = parsed.normalized if parsed else ""
    with transaction.atomic():
        _attempt_durability()
        # A malformed PIN finds no rows, as an unknown KVNR does.
        rows = _attempt_rows(kvnr=entry.kvnr if parsed else "", selector=selector)
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
