"""The staff login under attack: failed logins counted per user name and address, locks an administrator lifts,
one message for every failed factor, attack mode, and the staff idle timeout."""

import datetime
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from staff.constants import Role
from staff.models import LockScope, StaffLoginLock
from tests.staff.factories import STAFF_PASSWORD, make_staff, totp_code, verified_client
from web.attack import attack_level

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")


@pytest.fixture
def password_checks(monkeypatch):
    """Counts the password checks of Django's auth backend (a real one, or its dummy for an unknown name)."""
    from django.contrib.auth.backends import ModelBackend

    calls = []
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        calls.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    return calls


def _post(client, username, password=STAFF_PASSWORD, code="000000", address="203.0.113.20"):
    data = {"username": username, "password": password, "otp_token": code, "next": INDEX}
    return client.post(LOGIN, data, REMOTE_ADDR=address)


def _error(response) -> str:
    return " ".join(re.findall(r'<p class="errornote" role="alert">(.*?)</p>', response.content.decode(), re.S)).strip()


def test_a_hundred_wrong_passwords_from_one_address_are_throttled(client, settings, password_checks):
    # Before: 100 wrong passwords from one address in 21 s, all answered 200, none throttled.
    staff = make_staff(Role.CALL_CENTRE)
    errors = [_error(_post(client, f"guess-{n}", password=f"falsch-{n}")) for n in range(100)]
    assert len(password_checks) == settings.STAFF_LOGIN_ADDRESS_LIMIT
    assert sum("vorübergehend gesperrt, bis" in error for error in errors) == 100 - settings.STAFF_LOGIN_ADDRESS_LIMIT
    lock = StaffLoginLock.objects.get(scope=LockScope.ADDRESS, subject="203.0.113.20")
    assert lock.locked_until > timezone.now()
    # Even the right password and code from that address wait for the lock (no password is checked meanwhile).
    response = _post(client, staff.user.username, code=totp_code(staff.device))
    assert response.status_code == 200 and "vorübergehend gesperrt, bis" in _error(response)
    assert client.get(INDEX).status_code == 302


def test_wrong_passwords_for_one_user_name_lock_it_from_every_address(client, settings):
    staff = make_staff(Role.CALL_CENTRE)
    for n in range(settings.STAFF_LOGIN_USERNAME_LIMIT):
        _post(client, staff.user.username.upper(), password="falsch", address=f"198.51.100.{n + 1}")
    response = _post(client, staff.user.username, code=totp_code(staff.device), address="192.0.2.1")
    assert "vorübergehend gesperrt, bis" in _error(response)
    assert AuditEvent.objects.filter(action=AuditAction.STAFF_LOGIN_LOCKED).count() == 1


def test_the_lock_backs_off_with_each_failure_after_it(client, settings):
    settings.STAFF_LOGIN_USERNAME_LIMIT = 2
    staff = make_staff(Role.CALL_CENTRE)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        _post(client, staff.user.username, password="falsch", address="198.51.100.1")
        _post(client, staff.user.username, password="falsch", address="198.51.100.2")
        first = StaffLoginLock.objects.get(scope=LockScope.USERNAME).locked_until
        clock.shift(datetime.timedelta(seconds=settings.STAFF_LOGIN_LOCK_SECONDS + 1))
        _post(client, staff.user.username, password="falsch", address="198.51.100.3")
        second = StaffLoginLock.objects.get(scope=LockScope.USERNAME).locked_until
    assert first - start == datetime.timedelta(seconds=settings.STAFF_LOGIN_LOCK_SECONDS)
    assert second - (start + datetime.timedelta(seconds=settings.STAFF_LOGIN_LOCK_SECONDS + 1)) == datetime.timedelta(
        seconds=2 * settings.STAFF_LOGIN_LOCK_SECONDS
    )


def test_an_administrator_sees_and_lifts_a_lock_and_the_lift_is_audited(client, settings):
    staff = make_staff(Role.CALL_CENTRE)
    for _ in range(settings.STAFF_LOGIN_USERNAME_LIMIT):
        _post(client, staff.user.username, password="falsch")
    administrator = verified_client(make_staff(Role.ADMINISTRATOR))
    changelist = reverse("admin:staff_staffloginlock_changelist")
    page = administrator.get(changelist)
    assert page.status_code == 200 and staff.user.username in page.content.decode()
    lock = StaffLoginLock.objects.get(scope=LockScope.USERNAME, subject=staff.user.username)
    address = StaffLoginLock.objects.get(scope=LockScope.ADDRESS)
    response = administrator.post(changelist, {"action": "lift", "_selected_action": [lock.pk, address.pk], "index": 0})
    assert response.status_code == 302
    lock.refresh_from_db()
    assert (lock.failures, lock.locked_until) == (0, None)
    event = AuditEvent.objects.filter(action=AuditAction.STAFF_LOGIN_UNLOCKED).first()
    assert event.data["subject"] in {staff.user.username, "203.0.113.20"} and event.actor_user is not None
    assert _post(client, staff.user.username, code=totp_code(staff.device)).status_code == 302


def test_a_call_centre_user_cannot_lift_a_lock(client):
    agent = verified_client(make_staff(Role.CALL_CENTRE))
    assert agent.get(reverse("admin:staff_staffloginlock_changelist")).status_code == 403


def test_a_wrong_password_and_a_wrong_code_get_the_same_message(client):
    # Before: "Bitte Benutzername und Passwort ..." for a wrong password, "Der Code stimmt nicht ..." for a wrong
    # code after the right password: the form told a guesser when the password was right.
    staff = make_staff(Role.CALL_CENTRE)
    right = totp_code(staff.device)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    wrong_password = _error(_post(client, staff.user.username, password="falsch", code=wrong, address="198.51.100.7"))
    wrong_code = _error(_post(client, staff.user.username, code=wrong, address="198.51.100.8"))
    unknown_user = _error(_post(client, "niemand", code=wrong, address="198.51.100.9"))
    assert wrong_password == wrong_code == unknown_user
    assert "stimmen nicht" in wrong_code


def test_a_missing_code_is_asked_for_whether_or_not_the_password_is_right(client, password_checks):
    staff = make_staff(Role.CALL_CENTRE)
    with_right = _error(_post(client, staff.user.username, code=""))
    with_wrong = _error(_post(client, staff.user.username, password="falsch", code=""))
    assert with_right == with_wrong and "Code" in with_right
    assert password_checks == []


def test_failed_staff_logins_count_toward_attack_mode(client, settings):
    settings.LOGIN_THROTTLE_GLOBAL_LIMIT = 5
    settings.STAFF_LOGIN_ADDRESS_LIMIT = 100
    assert attack_level() == 0
    for n in range(5):
        _post(client, f"guess-{n}", password="falsch")
    assert attack_level() >= 1


def test_a_staff_session_ends_after_the_idle_timeout(settings):
    # Before: a staff session lived on for SESSION_COOKIE_AGE after its last write, however long it sat idle.
    assert settings.STAFF_IDLE_TIMEOUT_MINUTES == 30
    agent = verified_client(make_staff(Role.CALL_CENTRE))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert agent.get(INDEX).status_code == 200
        clock.shift(datetime.timedelta(minutes=29))
        assert agent.get(INDEX).status_code == 200
        clock.shift(datetime.timedelta(minutes=31))
        response = agent.get(INDEX)
        assert response.status_code == 302 and response["Location"].startswith(LOGIN)
        clock.shift(datetime.timedelta(seconds=1))
        assert agent.get(INDEX).status_code == 302
    assert "_auth_user_id" not in agent.session


def test_the_idle_clock_starts_at_login(client, settings):
    settings.STAFF_IDLE_TIMEOUT_MINUTES = 5
    staff = make_staff(Role.CALL_CENTRE)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        assert _post(client, staff.user.username, code=totp_code(staff.device)).status_code == 302
        clock.shift(datetime.timedelta(minutes=6))
        assert client.get(INDEX).status_code == 302
