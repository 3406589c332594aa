"""Tests for pins/session.py: member sessions are OTP-verified by the PIN and end with it."""

import pytest
from django.contrib.auth.models import User
from django_otp import DEVICE_ID_SESSION_KEY

from audit.services import Actor
from pins.constants import EndReason
from pins.services import pin_invalidate_all
from pins.session import SESSION_PIN_KEY, SESSION_SEEN_KEY, SESSION_STARTED_KEY

pytestmark = pytest.mark.urls("tests.pins.urls_member_only")


@pytest.fixture(autouse=True)
def _login_url(settings):
    settings.LOGIN_URL = "login"


@pytest.fixture
def logged_in(client, member, issue_pin):
    issued = issue_pin(member)
    assert client.post("/login/", {"kvnr": member.kvnr, "pin": issued.plaintext}).status_code == 200
    return issued


@pytest.mark.django_db
def test_login_marks_the_session_verified_by_the_pins_device(client, member, logged_in):
    assert client.session[DEVICE_ID_SESSION_KEY] == logged_in.pin.persistent_id
    response = client.get("/only/")
    assert response.content.decode() == f"hello {member.kvnr} via {logged_in.pin.pk}"


@pytest.mark.django_db
def test_login_rotates_the_session_key(client, member, issue_pin):
    issued = issue_pin(member)
    client.get("/only/")
    session = client.session
    session["before"] = True
    session.save()
    before = session.session_key
    client.post("/login/", {"kvnr": member.kvnr, "pin": issued.plaintext})
    assert client.session.session_key != before


@pytest.mark.django_db
def test_logged_in_user_without_otp_verification_is_refused(client, member):
    client.force_login(member.user)
    response = client.get("/only/")
    assert response.status_code == 302 and "next=/only/" in response["Location"]


@pytest.mark.django_db
def test_staff_user_session_is_refused(client, db):
    staff = User.objects.create_user("clerk", password="a long password 123", is_staff=True)
    client.force_login(staff)
    assert client.get("/only/").status_code == 302


@pytest.mark.django_db
def test_session_ends_when_the_pins_are_invalidated(client, member, logged_in):
    pin_invalidate_all(member=member, reason=EndReason.TRANSMITTED, actor=Actor.system())
    assert client.get("/only/").status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_starts_the_idle_and_absolute_clocks(client, logged_in):
    session = client.session
    assert session[SESSION_PIN_KEY] == logged_in.pin.pk
    assert isinstance(session[SESSION_STARTED_KEY], float)
    assert session[SESSION_SEEN_KEY] == session[SESSION_STARTED_KEY]
