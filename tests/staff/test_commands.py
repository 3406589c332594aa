"""The create_staff management command."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from staff.constants import Role

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = io.StringIO()
    call_command("create_staff", *args, stdout=out)
    return out.getvalue()


def test_create_staff_creates_a_staff_user_in_the_role_with_a_confirmed_totp_device():
    _run("anna", "--role", "case_worker", "--password", "Ein-langes-Passwort-7")
    user = get_user_model().objects.get(username="anna")
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [Role.CASE_WORKER]
    assert TOTPDevice.objects.get(user=user).confirmed


def test_create_staff_prints_the_otpauth_uri_and_a_qr_code():
    output = _run("anna", "--role", "print_shop", "--password", "Ein-langes-Passwort-7")
    device = TOTPDevice.objects.get(user__username="anna")
    assert device.config_url in output
    assert "█" in output


def test_create_staff_refuses_a_weak_password():
    with pytest.raises(CommandError):
        _run("anna", "--role", "print_shop", "--password", "kurz")
    assert not get_user_model().objects.filter(username="anna").exists()


def test_create_staff_refuses_an_existing_username():
    _run("anna", "--role", "print_shop", "--password", "Ein-langes-Passwort-7")
    with pytest.raises(CommandError):
        _run("anna", "--role", "call_centre", "--password", "Ein-langes-Passwort-7")


def test_create_staff_asks_for_the_password_twice(monkeypatch):
    answers = iter(["Ein-langes-Passwort-7", "Ein-langes-Passwort-7"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _run("anna", "--role", "administrator")
    assert get_user_model().objects.get(username="anna").check_password("Ein-langes-Passwort-7")


def test_create_staff_refuses_differing_passwords(monkeypatch):
    answers = iter(["Ein-langes-Passwort-7", "Ein-anderes-Passwort-8"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError):
        _run("anna", "--role", "administrator")
