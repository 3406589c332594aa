"""The leak scan itself must catch a PIN in SQL, in a log line and in a task message."""

import logging

import pytest
from django.db import connection

from tests.leakscan import SCANNER


@pytest.fixture
def issued(member, issue_pin):
    return issue_pin(member)


@pytest.mark.django_db
def test_scan_finds_a_pin_sent_to_the_database(issued):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s", [issued.display.lower()])
    assert any(leak.startswith("SQL") for leak in SCANNER.reset())


@pytest.mark.django_db
def test_scan_finds_a_pin_in_a_log_line(issued):
    logging.getLogger("pins").debug("careless %s", issued.plaintext)
    assert any(leak.startswith("log pins") for leak in SCANNER.reset())


@pytest.mark.django_db
def test_scan_finds_a_pin_in_task_arguments(issued):
    from pins.tasks import expire_and_purge_pins

    with pytest.raises(TypeError):
        expire_and_purge_pins.delay(issued.plaintext)
    assert any(leak.startswith("task") for leak in SCANNER.reset())


@pytest.mark.django_db
def test_normal_login_leaks_nothing(member, issued):
    from pins.services import pin_verify

    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok
    assert SCANNER.reset() == []


@pytest.mark.django_db
def test_scan_finds_a_kvnr_in_a_request_url(client, member):
    client.get("/mitarbeiter/eingang/", {"q": f"{member.kvnr[:4]} {member.kvnr[4:]}".lower()})
    assert any(leak.startswith("KVNR in a URL") for leak in SCANNER.reset())


@pytest.mark.django_db
def test_scan_ignores_kvnr_shaped_strings_without_a_valid_check_digit_and_uuid_parts(client, member):
    wrong_digit = member.kvnr[:-1] + str((int(member.kvnr[-1]) + 1) % 10)
    client.get("/", {"x": wrong_digit, "id": "0f4c2a1e-8b1d-4c3e-9a2b-a12345678901"})
    assert SCANNER.reset() == []
