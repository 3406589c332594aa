"""Member sessions: logging a member in with a verified PIN, and the decorator member-only views use."""

from collections.abc import Callable
from functools import wraps

from django.contrib import auth
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django_otp import login as otp_login

from .models import LetterPin
from .services import pin_is_usable

SESSION_PIN_KEY = "member_pin_id"


def member_login(request: HttpRequest, *, pin: LetterPin) -> None:
    """Log the member's user in (auth.login rotates the session key) and mark the session verified by the PIN."""
    auth.login(request, pin.member.user, backend="django.contrib.auth.backends.ModelBackend")
    otp_login(request, pin)
    request.session[SESSION_PIN_KEY] = pin.pk


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
