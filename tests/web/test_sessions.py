"""The session engine (web/sessions.py): a session that starts at login is written once, and a login never keeps
a session key it was handed."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pins.session import SESSION_PIN_KEY
from tests.pins.cases import wrong_secret

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


def test_session_keys_are_32_characters_of_djangos_alphabet_and_differ():
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS

    from web.sessions import SessionStore

    keys = {SessionStore()._get_new_session_key() for _ in range(200)}
    assert len(keys) == 200
    assert all(len(key) == 32 and set(key) <= set(VALID_KEY_CHARS) for key in keys)
    # Every character of the alphabet turns up, in the first place as elsewhere: no digit is left out.
    assert {key[0] for key in keys} | {key[-1] for key in keys} == set(VALID_KEY_CHARS)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the attempt's own transaction is PostgreSQL's")
def test_a_login_costs_three_round_trips_to_the_database(client, member, issue_pin):
    """The attempt's two (BEGIN with its lookup, COMMIT with its write) and the session's INSERT, in autocommit."""
    issued = issue_pin(member)
    login_post(client, kvnr=member.kvnr, pin=wrong_secret(issued.plaintext))  # prepares the attempt's lookup

    with CaptureQueriesContext(connection) as queries:
        response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert response.status_code == 302
    sent = [query["sql"] for query in queries.captured_queries]
    assert len(sent) == 3, sent
    assert sent[0].startswith("BEGIN; EXECUTE pins_attempt_lookup(")
    assert sent[1].startswith('UPDATE "pins_letterpin"') and sent[1].endswith("; COMMIT")
    assert sent[2].startswith('INSERT INTO "django_session"')
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.get(session_key=key).get_decoded()[SESSION_PIN_KEY] == issued.pin.pk


@pytest.mark.django_db(transaction=True)
def test_a_new_session_whose_key_is_taken_draws_another(member, monkeypatch):
    from web.sessions import SessionStore

    taken = SessionStore()
    taken["n"] = 1
    taken.create()
    keys = iter([taken.session_key, "b" * 32])
    monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: next(keys))

    fresh = SessionStore()
    fresh["n"] = 2
    fresh.create()

    assert fresh.session_key == "b" * 32
    assert Session.objects.get(session_key=taken.session_key).get_decoded() == {"n": 1}
    assert Session.objects.get(session_key="b" * 32).get_decoded() == {"n": 2}
