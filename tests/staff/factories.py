"""Staff users for tests: one per role, with a confirmed TOTP device, and a client logged in with both factors."""

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp

from audit.services import Actor
from staff.services import StaffEnrolment, staff_create

STAFF_PASSWORD = "Richtig-Pferd-Batterie-42"

_counter = iter(range(1, 10**6))


def make_staff(role: str, *, username: str = "") -> StaffEnrolment:
    username = username or f"{role.replace('_', '-')}-{next(_counter)}"
    return staff_create(username=username, role=role, password=STAFF_PASSWORD, actor=Actor.system())


def totp_code(device) -> str:
    """The code the staff member's authenticator app shows right now."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def verified_client(enrolment: StaffEnrolment) -> Client:
    """A client whose session is logged in and OTP-verified by the user's TOTP device."""
    client = Client()
    client.force_login(enrolment.user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = enrolment.device.persistent_id
    session.save()
    return client
