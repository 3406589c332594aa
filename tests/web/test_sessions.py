"""The session engine (web/sessions.py): a session that starts at login is written once, and a login never keeps
a session key it was handed."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pins.session import SESSION_PIN_KEY

from .conftest import login_post

pytestmark = pytest.mark.django_db


def _session_statements(queries) -> list[str]:
    """The kind of each statement that touched the session table (SELECT, INSERT, UPDATE, DELETE)."""
    return [q["sql"].split()[0].upper() for q in queries.captured_queries if re.search(r'"django_session"', q["sql"])]


def test_a_login_without_a_session_writes_its_session_in_one_insert(client, member, issue_pin):
    issued = issue_pin(member)

    with CaptureQueriesContext(connection) as queries:
        response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert response.status_code == 302
    assert _session_statements(queries) == ["INSERT"]
    stored = Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    assert stored.get_decoded()[SESSION_PIN_KEY] == issued.pin.pk


def test_a_login_with_a_cookie_naming_no_session_gets_a_new_key(client, member, issue_pin):
    issued = issue_pin(member)
    handed = "a" * 32  # a key someone chose, with no row behind it
    client.cookies[settings.SESSION_COOKIE_NAME] = handed

    login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert key != handed
    assert not Session.objects.filter(session_key=handed).exists()
    assert Session.objects.get(session_key=key).get_decoded()[SESSION_PIN_KEY] == issued.pin.pk


def test_a_login_with_a_stored_session_moves_its_data_to_a_new_key_and_deletes_the_old_row(client, member, issue_pin):
    issued = issue_pin(member)
    session = client.session
    session["before_login"] = "kept"
    session.save()
    before = session.session_key

    login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert client.session.session_key != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session["before_login"] == "kept"


def test_a_member_login_is_recorded_on_the_pin_not_again_on_the_user(client, member, issue_pin):
    from pins.models import LetterPin

    issued = issue_pin(member)

    with CaptureQueriesContext(connection) as queries:
        login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "auth_user"')]
    assert LetterPin.objects.get(pk=issued.pin.pk).last_login_at is not None
    member.user.refresh_from_db()
    assert member.user.last_login is None


def test_a_staff_login_still_records_last_login(client, django_user_model):
    staff = django_user_model.objects.create_user(username="sachbearbeitung", password="x", is_staff=True)

    client.force_login(staff)

    staff.refresh_from_db()
    assert staff.last_login is not None
