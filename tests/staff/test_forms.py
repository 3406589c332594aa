"""The two-factor admin login (staff/forms.py and staff/admin_site.py): TOTP only, throttled, audited."""

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.constants import AuditAction
from audit.models import AuditEvent
from staff.constants import Role
from staff.forms import StaffLoginForm
from tests.factories import MemberFactory
from tests.staff.factories import STAFF_PASSWORD, make_staff, totp_code

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")


def _login(client, username, token, **extra):
    data = {"username": username, "password": STAFF_PASSWORD, "otp_token": token, "next": INDEX, **extra}
    return client.post(LOGIN, data)


def test_login_with_password_and_totp_code_opens_the_admin(client):
    staff = make_staff(Role.CALL_CENTRE)
    response = _login(client, staff.user.username, totp_code(staff.device))
    assert response.status_code == 302
    assert client.get(INDEX).status_code == 200


def test_login_without_a_totp_device_is_refused(client):
    staff = make_staff(Role.CALL_CENTRE)
    code = totp_code(staff.device)
    staff.device.delete()
    response = _login(client, staff.user.username, code)
    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302


def test_login_with_an_unconfirmed_device_is_refused(client):
    staff = make_staff(Role.CALL_CENTRE)
    TOTPDevice.objects.filter(pk=staff.device.pk).update(confirmed=False)
    response = _login(client, staff.user.username, totp_code(staff.device))
    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302


def test_login_without_a_code_is_refused(client):
    staff = make_staff(Role.CALL_CENTRE)
    response = _login(client, staff.user.username, "")
    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302


def test_wrong_totp_codes_are_throttled_by_configuration():
    assert django_settings.OTP_TOTP_THROTTLE_FACTOR >= 1


def test_wrong_code_throttles_even_the_right_code_right_after(client, settings):
    # A long back-off, so that the second try is surely inside it however slow the machine is.
    settings.OTP_TOTP_THROTTLE_FACTOR = 3600
    staff = make_staff(Role.CALL_CENTRE)
    right = totp_code(staff.device)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    _login(client, staff.user.username, wrong)
    response = _login(client, staff.user.username, right)
    assert response.status_code == 200
    assert "vorübergehend" in response.content.decode() or "temporarily" in response.content.decode()
    assert client.get(INDEX).status_code == 302


def test_wrong_codes_are_counted_on_the_device(client):
    staff = make_staff(Role.CALL_CENTRE)
    right = totp_code(staff.device)
    _login(client, staff.user.username, f"{(int(right) + 1) % 10**6:06d}")
    staff.device.refresh_from_db()
    assert staff.device.throttling_failure_count == 1


def test_member_letter_pins_are_never_the_second_factor(issue_pin):
    staff = make_staff(Role.CALL_CENTRE)
    # Even a (misconfigured) staff user who also is a member with a PIN is checked against TOTP devices only.
    member = MemberFactory(user=staff.user)
    issue_pin(member)
    form = StaffLoginForm(data={})
    assert form._chosen_device(staff.user) == staff.device


def test_a_letter_pin_as_the_code_is_refused_even_when_its_device_is_named(client, issue_pin):
    staff = make_staff(Role.CALL_CENTRE)
    issued = issue_pin(MemberFactory(user=staff.user))
    response = _login(client, staff.user.username, issued.plaintext, otp_device=issued.pin.persistent_id)
    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302


def test_after_a_wrong_code_the_page_offers_no_device_chooser_and_speaks_formally(client):
    # Before: an empty "Einmalpasswort-Gerät" dropdown and a "Bekomme Einmalpasswort-Challenge" button
    # appeared, the field lost its label, and the error said "Bitte überprüfe".
    staff = make_staff(Role.CALL_CENTRE)
    right = totp_code(staff.device)
    html = _login(client, staff.user.username, f"{(int(right) + 1) % 10**6:06d}").content.decode()
    assert "otp_device" not in html
    assert "otp_challenge" not in html
    assert "Code aus der Authenticator-App" in html
    assert "überprüfe " not in html
    assert "Bitte prüfen Sie" in html
    assert "<h1" in html


def test_the_login_page_has_a_heading_and_the_code_field(client):
    html = client.get(LOGIN).content.decode()
    assert "<h1" in html
    assert 'id="id_otp_token"' in html
    assert "otp_device" not in html


def test_members_cannot_log_in_to_the_admin(client, member):
    member.user.set_password(STAFF_PASSWORD)
    member.user.save()
    response = _login(client, member.user.username, "123456")
    assert response.status_code == 200
    assert client.get(INDEX).status_code == 302


def test_staff_login_is_audited(client):
    staff = make_staff(Role.CALL_CENTRE)
    _login(client, staff.user.username, totp_code(staff.device))
    event = AuditEvent.objects.get(action=AuditAction.STAFF_LOGIN)
    assert event.actor_user == staff.user
    assert event.ip == "127.0.0.1"


def test_wrong_password_is_audited_as_failed_login(client):
    staff = make_staff(Role.CALL_CENTRE)
    client.post(LOGIN, {"username": staff.user.username, "password": "falsch", "otp_token": "123456"})
    event = AuditEvent.objects.get(action=AuditAction.STAFF_LOGIN_FAILED)
    assert event.reason == "password"
    assert event.data == {"username": staff.user.username}


def test_wrong_totp_code_is_audited_as_failed_login(client):
    staff = make_staff(Role.CALL_CENTRE)
    right = totp_code(staff.device)
    _login(client, staff.user.username, f"{(int(right) + 1) % 10**6:06d}")
    event = AuditEvent.objects.get(action=AuditAction.STAFF_LOGIN_FAILED)
    assert (event.reason, event.actor_user) == ("second factor", staff.user)
    assert not AuditEvent.objects.filter(action=AuditAction.STAFF_LOGIN).exists()
