"""Ends a staff session after STAFF_IDLE_TIMEOUT_MINUTES without a request, on the server."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from pins.session import is_member_session

_LAST_SEEN = "staff_last_seen"
_TOUCH_EVERY = 30  # seconds: the session is written at most this often, not on every request


def staff_session_seen(request: HttpRequest) -> None:
    """Note this request as the staff session's latest activity (also called at login, so the clock starts there)."""
    request.session[_LAST_SEEN] = time.time()


class StaffIdleTimeoutMiddleware:
    """A staff session idle for longer than STAFF_IDLE_TIMEOUT_MINUTES is logged out and sent to the admin login.

    The session's cookie lifetime alone (SESSION_COOKIE_AGE from the last write) would let an unattended admin
    page live on; this checks the time of the last request on every request. Place it after the auth middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session and not is_member_session(request) and request.user.is_staff:
            now = time.time()
            last_seen = request.session.get(_LAST_SEEN)
            if isinstance(last_seen, int | float) and now - last_seen > settings.STAFF_IDLE_TIMEOUT_MINUTES * 60:
                logout(request)
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not isinstance(last_seen, int | float) or now - last_seen >= _TOUCH_EVERY:
                staff_session_seen(request)
        return self.get_response(request)
