"""Staff users for tests (a role, a confirmed TOTP device, a two-factor client) and transmitted submissions."""

import io

from django.test import Client
from django_otp.oath import totp

from audit.services import Actor
from staff.services import StaffEnrolment, staff_create
from tests.helpers import login_staff

STAFF_PASSWORD = "Richtig-Pferd-Batterie-42"

_counter = iter(range(1, 10**6))


def make_staff(role: str, *, username: str = "") -> StaffEnrolment:
    username = username or f"{role.replace('_', '-')}-{next(_counter)}"
    return staff_create(username=username, role=role, password=STAFF_PASSWORD, actor=Actor.system())


def totp_code(device) -> str:
    """The code the staff member's authenticator app shows right now."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def browser_log_in(page, staff) -> None:
    """Log a staff member (user and TOTP device) in on the admin's login page in the browser (Playwright page)."""
    page.goto("/admin/login/")
    page.fill("#id_username", staff.user.username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.fill("#id_otp_token", totp_code(staff.device))
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def verified_client(enrolment: StaffEnrolment) -> Client:
    """A client whose session is logged in and OTP-verified by the user's TOTP device."""
    return login_staff(Client(), enrolment.user, enrolment.device)


def transmitted_submission(member, *, files: dict[str, bytes] | None = None, message: str = "Bitte prüfen."):
    """A submission made the member's way: draft, reason, uploaded files (encrypted at rest), transmit."""
    from tests.uploads.factories import SubmissionReasonFactory
    from uploads import services as uploads_services
    from uploads.models import Draft

    actor = Actor.member(member.user)
    draft = uploads_services.draft_get_or_create(member=member)
    # get_or_create: a transactional test's flush has removed the reasons seeded by uploads' migration.
    reason = SubmissionReasonFactory(code="certificate")
    uploads_services.draft_autosave(
        draft=draft, version=draft.version, fields={"reason": reason, "message": message, "town": "Bonn"}, actor=actor
    )
    for name, data in (files or {}).items():
        upload = uploads_services.upload_create(draft=draft, name=name, length=len(data), actor=actor)
        uploads_services.upload_append(
            upload=upload, offset=0, stream=io.BytesIO(data), content_length=len(data), actor=actor
        )
    draft = Draft.objects.get(pk=draft.pk)
    return uploads_services.draft_transmit(draft=draft, actor=actor, confirmed=True)
