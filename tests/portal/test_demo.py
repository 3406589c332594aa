"""Tests for the demo command used by scripts/start.sh."""

import re

import pytest
from django.core.management import CommandError, call_command

from pins.services import pin_verify


@pytest.mark.django_db
def test_demo_prints_a_kvnr_and_pin_that_log_in(settings, capsys):
    settings.DEBUG = True
    call_command("demo")
    out = capsys.readouterr().out
    kvnr, pin = re.search(r"KVNR (\w+)\s+PIN ([\w-]+)\s+\(valid\)", out).groups()
    assert pin_verify(kvnr=kvnr, pin=pin, ip=None).ok


@pytest.mark.django_db
def test_demo_puts_a_rendered_letter_for_each_demo_member_in_the_print_queue(
    settings, capsys, django_capture_on_commit_callbacks
):
    from letters.selectors import print_queue

    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo")
    assert print_queue().count() == 2


@pytest.mark.django_db
def test_demo_can_run_again_and_older_pins_stay_valid(settings, capsys):
    settings.DEBUG = True
    call_command("demo")
    first = re.search(r"KVNR (\w+)\s+PIN ([\w-]+)", capsys.readouterr().out).groups()
    call_command("demo")
    second = re.search(r"KVNR (\w+)\s+PIN ([\w-]+)", capsys.readouterr().out).groups()
    assert first[0] == second[0] and first[1] != second[1]
    assert pin_verify(kvnr=first[0], pin=first[1], ip=None).ok


@pytest.mark.django_db
def test_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo")


@pytest.mark.django_db
def test_demo_prints_staff_users_whose_password_and_totp_code_log_in(settings, capsys, client):
    settings.DEBUG = True
    call_command("demo")
    out = capsys.readouterr().out
    username, password = re.search(r"(demo-call-centre)\s+\w+\s+password (\S+)", out).groups()
    call_command("demo_totp", username)
    code = capsys.readouterr().out.strip()
    response = client.post("/admin/login/", {"username": username, "password": password, "otp_token": code})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
