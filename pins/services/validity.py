"""How long a PIN works: its last instant (the end of its stated day) and whether a session with it may go on."""

import datetime

from django.conf import settings
from django.utils import timezone

from ..constants import PinStatus
from ..models import LetterPin


def pin_validity(*, days: int | None = None) -> datetime.timedelta:
    """How many days a PIN works: PIN_VALIDITY_DAYS, or fewer when the caller asks for fewer (a campaign), never more."""
    limit = settings.PIN_VALIDITY_DAYS
    if days is None:
        return datetime.timedelta(days=limit)
    if days < 1:
        raise ValueError("a PIN works for at least one day")
    return datetime.timedelta(days=min(days, limit))


def pin_valid_until(*, issued_at: datetime.datetime, days: int | None = None) -> datetime.datetime:
    """The last instant a PIN issued then works: the end of its last day (pin_validity), in the portal's zone.

    The letter prints that day ("gültig bis einschließlich 31. Januar 2027"), the dashboard and the staff pages
    show it: they all read this value (LetterPin.expires_at), so the PIN works through the whole stated day,
    whatever the time of day it was issued and across a change to or from summer time.
    """
    zone = timezone.get_default_timezone()
    last_day = timezone.localtime(issued_at, zone).date() + pin_validity(days=days)
    return datetime.datetime.combine(last_day, datetime.time.max, tzinfo=zone)


def pin_is_expired(*, pin: LetterPin, now: datetime.datetime) -> bool:
    """Whether the PIN's stated last day is over (expires_at is the last instant it works, inclusive)."""
    return pin.status == PinStatus.EXPIRED or now > pin.expires_at


def pin_is_usable(*, pin: LetterPin, now: datetime.datetime | None = None) -> bool:
    """Whether a session opened with this PIN may go on (it is active and its stated last day is not over)."""
    now = now or timezone.now()
    return pin.status == PinStatus.ACTIVE and not pin_is_expired(pin=pin, now=now)
