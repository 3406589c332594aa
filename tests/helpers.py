"""Helpers shared by the tests of several apps: open a member or staff session without a login round-trip."""

from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from pins.auth import SESSION_PIN_KEY
from pins.models import LetterPin
from web.services import SESSION_SEEN_KEY, SESSION_STARTED_KEY


def login_member(client: Client, pin: LetterPin) -> Client:
    """A session as the portal's login leaves it: the member's user, the PIN as OTP device, running clocks."""
    client.force_login(pin.member.user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = pin.persistent_id
    session[SESSION_PIN_KEY] = pin.pk
    now = timezone.now().timestamp()
    session[SESSION_STARTED_KEY] = now
    session[SESSION_SEEN_KEY] = now
    session.save()
    return client


def login_staff(client: Client, user, device) -> Client:
    """A staff session verified by the user's TOTP device."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
