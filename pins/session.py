"""The member session, in one place: login with a PIN, the idle and absolute clocks, keep-alive, logout and the guard.

A member session is a Django session of the member's user, OTP-verified by the letter PIN it was opened with
(django_otp's login with the PIN as device). Every request re-checks it: web's MemberSessionMiddleware counts
the request as activity and ends an idle or too old session (member_session_touch); member-only views are
wrapped in member_required, which ends the session once its PIN no longer works.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_otp import login as otp_login

from .models import LetterPin
from .services import pin_is_usable

SESSION_PIN_KEY = "member_pin_id"
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


def member_login(request: HttpRequest, *, pin: LetterPin, now: datetime.datetime | None = None) -> None:
    """Open the member's session with a verified PIN and start its idle and absolute clocks.

    auth.login rotates the session key; django_otp's login marks the session verified by the PIN as device.
    """
    auth.login(request, pin.member.user, backend="django.contrib.auth.backends.ModelBackend")
    otp_login(request, pin)
    ts = _now_ts(now)
    request.session[SESSION_PIN_KEY] = pin.pk
    request.session[SESSION_STARTED_KEY] = ts
    request.session[SESSION_SEEN_KEY] = ts


def member_logout(request: HttpRequest) -> None:
    """Delete the server-side session."""
    auth.logout(request)


def current_pin(request: HttpRequest) -> LetterPin | None:
    """The PIN this member session was opened with, if the session is OTP-verified by a letter PIN."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_verified():
        return None
    device = getattr(user, "otp_device", None)
    member = getattr(user, "member", None) if isinstance(device, LetterPin) else None
    if member is None or device.member_id != member.pk:
        return None
    device.member = member  # the same row, already loaded through the user
    return device


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only a member session verified by a letter PIN that still works may pass; others go to the login."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        pin = current_pin(request)
        if pin is None:
            return redirect_to_login(request.get_full_path())
        # OTPMiddleware loaded the PIN afresh for this request, so its status is current.
        if not pin_is_usable(pin=pin):
            member_logout(request)
            return redirect_to_login(request.get_full_path())
        request.member = pin.member
        request.member_pin = pin
        return view(request, *args, **kwargs)

    return wrapper


def is_member_session(request: HttpRequest) -> bool:
    return SESSION_PIN_KEY in request.session


def member_session_touch(*, request: HttpRequest, now: datetime.datetime | None = None) -> str | None:
    """Count this request as activity; end the session (returning why) when it was idle or too old.

    A member session without its clocks is ended too: it was not opened by member_login.
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
