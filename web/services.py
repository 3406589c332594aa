"""Member session rules of the portal: idle timeout, absolute lifetime, and the member's remembered language."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from members.models import Member
from members.services import member_set_language
from pins.auth import SESSION_PIN_KEY, member_logout

SESSION_STARTED_KEY = "member_session_started"
SESSION_SEEN_KEY = "member_session_seen"
# Activity is written to the session at most this often: a session write is a database commit, and member
# pages (and upload requests) come in quick bursts. The idle timeout is counted from the stored time.
SEEN_WRITE_INTERVAL_SECONDS = 30


class SessionEnd:
    """Why the portal ended a member session (also the value of the signed-out page's "grund" parameter)."""

    IDLE = "inaktiv"
    LIFETIME = "zeit"


@dataclass(frozen=True)
class SessionState:
    """What the page script needs: seconds left and whether "stay signed in" can give more."""

    remaining: int
    extendable: bool
    warning: int


def _now_ts(now: datetime.datetime | None) -> float:
    return (now or timezone.now()).timestamp()


def member_session_start(*, request: HttpRequest, now: datetime.datetime | None = None) -> None:
    """Start the idle and absolute clocks of a member session that pins.auth.member_login has just opened."""
    ts = _now_ts(now)
    request.session[SESSION_STARTED_KEY] = ts
    request.session[SESSION_SEEN_KEY] = ts


def is_member_session(request: HttpRequest) -> bool:
    return SESSION_PIN_KEY in request.session


def member_session_touch(*, request: HttpRequest, now: datetime.datetime | None = None) -> str | None:
    """Count this request as activity; end the session (returning why) when it was idle or too old.

    A member session without its clocks is ended too: it was not opened by the portal's login.
    """
    ts = _now_ts(now)
    started = request.session.get(SESSION_STARTED_KEY)
    seen = request.session.get(SESSION_SEEN_KEY)
    ended = None
    if not isinstance(started, float) or ts - started >= settings.MEMBER_SESSION_MAX_AGE_SECONDS:
        ended = SessionEnd.LIFETIME
    elif not isinstance(seen, float) or ts - seen >= settings.MEMBER_IDLE_TIMEOUT_SECONDS:
        ended = SessionEnd.IDLE
    if ended:
        member_logout(request)
        return ended
    if ts - seen >= SEEN_WRITE_INTERVAL_SECONDS:
        request.session[SESSION_SEEN_KEY] = ts
    return None


def member_session_state(*, request: HttpRequest, now: datetime.datetime | None = None) -> SessionState:
    """Seconds until the session ends if nothing else happens, right after member_session_touch."""
    ts = _now_ts(now)
    left_in_lifetime = settings.MEMBER_SESSION_MAX_AGE_SECONDS - (ts - request.session[SESSION_STARTED_KEY])
    idle = settings.MEMBER_IDLE_TIMEOUT_SECONDS
    left_idle = idle - (ts - request.session[SESSION_SEEN_KEY])
    return SessionState(
        remaining=max(int(min(left_idle, left_in_lifetime)), 0),
        extendable=left_in_lifetime > idle,
        warning=settings.MEMBER_IDLE_WARNING_SECONDS,
    )


def member_session_keepalive(*, request: HttpRequest, now: datetime.datetime | None = None) -> SessionState:
    """The member asked to stay signed in: restart the idle clock now, whatever the write interval."""
    now = now or timezone.now()
    request.session[SESSION_SEEN_KEY] = now.timestamp()
    return member_session_state(request=request, now=now)


def member_language_at_login(*, member: Member, chosen: str | None) -> str:
    """The language after login: a choice made in this browser wins and is remembered, else the member's own."""
    if chosen in dict(settings.LANGUAGES):
        member_set_language(member=member, language=chosen)
        return chosen
    return member.language


FEEDBACK_PER_ADDRESS_PER_HOUR = 5


def accessibility_feedback_allowed(*, ip: str) -> bool:
    """At most a few reports an hour from one address, so the public form cannot fill the database."""
    from django.core.cache import cache

    from .throttle import CACHE_ERRORS

    key = f"web:a11y-feedback:{ip}"
    try:
        cache.add(key, 0, timeout=3600)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=3600)
            count = 1
    except CACHE_ERRORS:
        return True  # a report that reaches a person matters more than the limit while the cache is away
    return count <= FEEDBACK_PER_ADDRESS_PER_HOUR


def accessibility_feedback_create(*, message: str, contact: str = "", page: str = ""):
    """Store a reported barrier for staff to read in admin (the accessibility statement's feedback form)."""
    from .models import AccessibilityFeedback

    return AccessibilityFeedback.objects.create(message=message, contact=contact, page=page)
