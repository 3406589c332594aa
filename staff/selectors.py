"""Staff reads: what the call centre sees about a member (PINs, letters, submissions, story) and reissue counts."""

import datetime
from dataclasses import dataclass

from django.db.models import Max, Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.selectors import audit_count_since, audit_events_for_member
from letters.constants import LetterStatus
from letters.models import LetterRequest
from letters.selectors import letters_for_member
from members.models import Member
from pins.constants import EndReason, PinStatus
from pins.models import LetterPin
from pins.selectors import pins_for_member
from pins.services import pin_is_usable
from uploads.models import Submission
from uploads.selectors import draft_for_member, submissions_for_member
from web.throttle import address_key

from .models import LockScope, StaffLoginLock


@dataclass(frozen=True)
class PinRow:
    """One PIN as the call centre sees it: never the PIN or its hash."""

    pin: LetterPin
    state: str
    usable: bool


def pin_state(*, pin: LetterPin, now: datetime.datetime | None = None) -> tuple[str, bool]:
    """(label, still usable) in the words the call centre uses on the phone."""
    now = now or timezone.now()
    if pin_is_usable(pin=pin, now=now):
        until = formats.date_format(timezone.localtime(pin.expires_at), "SHORT_DATE_FORMAT")
        return _("aktiv bis %(date)s") % {"date": until}, True
    if pin.status in (PinStatus.ACTIVE, PinStatus.EXPIRED):
        return str(PinStatus.EXPIRED.label), False
    if pin.status == PinStatus.LOCKED:
        return str(PinStatus.LOCKED.label), False
    if pin.end_reason == EndReason.TRANSMITTED:
        # The PIN the member transmitted with has logged in; the others ended with it.
        return (_("benutzt (Daten übermittelt)") if pin.last_login_at else _("ungültig durch Übermittlung")), False
    if pin.end_reason == EndReason.CANCELLED:
        return _("storniert"), False
    return str(EndReason.STAFF.label), False


def member_pins(*, member: Member) -> list[PinRow]:
    now = timezone.now()
    rows = []
    for pin in pins_for_member(member=member):
        state, usable = pin_state(pin=pin, now=now)
        rows.append(PinRow(pin=pin, state=state, usable=usable))
    return rows


@dataclass(frozen=True)
class LetterRow:
    letter: LetterRequest
    cancellable: bool
    # The letter's PIN has ended (transmission, lock, expiry, staff): printing it would send a dead PIN.
    pin_ended: bool = False


def _letter_row(letter: LetterRequest, now: datetime.datetime) -> LetterRow:
    pin_ended = letter.pin is not None and not pin_state(pin=letter.pin, now=now)[1]
    open_letter = letter.status not in (LetterStatus.COLLECTED, LetterStatus.CANCELLED)
    return LetterRow(letter=letter, cancellable=open_letter and not pin_ended, pin_ended=pin_ended)


@dataclass(frozen=True)
class MemberOverview:
    """What the member page shows beside the master data. Never a PIN, a hash or a letter PDF."""

    card_valid: bool
    pins: list[PinRow]
    letters: list[LetterRow]
    has_draft: bool
    submissions: list[Submission]


def member_overview(*, member: Member, with_letters: bool = True) -> MemberOverview:
    letters = []
    if with_letters:
        now = timezone.now()
        letters = [_letter_row(letter, now) for letter in letters_for_member(member=member)]
    return MemberOverview(
        card_valid=member.card_is_valid(),
        pins=member_pins(member=member),
        letters=letters,
        has_draft=draft_for_member(member=member) is not None,
        submissions=submissions_for_member(member=member),
    )


def member_story(*, member: Member) -> QuerySet[AuditEvent]:
    """Every audit event about the member, newest first."""
    return audit_events_for_member(member=member)


def reissues_today(*, member: Member, now: datetime.datetime | None = None) -> int:
    """How many new PINs staff requested for the member since local midnight."""
    now = now or timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return audit_count_since(member=member, action=AuditAction.PIN_REISSUED, since=midnight)


def login_lock_username(username: str) -> str:
    """The user name as the login locks count it: stripped and case-folded, as typed (it need not exist)."""
    return username.strip().casefold()[:150]


def login_lock_keys(*, username: str, ip: str | None) -> list[tuple[str, str]]:
    """The locks a staff login counts against: its user name (when one was typed) and its address (IPv6: /64)."""
    keys = []
    if login_lock_username(username):
        keys.append((LockScope.USERNAME, login_lock_username(username)))
    if ip:
        keys.append((LockScope.ADDRESS, address_key(ip)))
    return keys


def staff_login_locked_until(*, username: str, ip: str | None) -> datetime.datetime | None:
    """Until when a staff login with this user name from this address is refused, or None when it may be tried."""
    keys = login_lock_keys(username=username, ip=ip)
    if not keys:
        return None
    matches = Q()
    for scope, key in keys:
        matches |= Q(scope=scope, subject=key)
    found = StaffLoginLock.objects.filter(matches, locked_until__gt=timezone.now()).aggregate(until=Max("locked_until"))
    return found["until"]
