"""The attempt's own transaction on PostgreSQL (the login view's case: no transaction around it): BEGIN travels with
the lookup and COMMIT with the write, two round trips for every case; anything raised in between rolls back.

These tests commit (transaction=True): inside the test's own transaction the attempt runs in atomic() instead,
which tests/pins/test_equal_work.py covers.
"""

import pytest
from django.db import connection

from audit.models import AuditEvent
from pins import hashing
from pins.constants import VerifyResult
from pins.models import LetterPin
from pins.services import pin_verify

from .cases import FAILING, login_cases, wrong_secret
from .test_equal_work import _shape as _table_shape

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the attempt's own transaction is PostgreSQL's"),
]


def _shape(sql: str) -> str:
    """_shape of test_equal_work, and the prepared statement an EXECUTE runs."""
    if sql.strip().upper().startswith("EXECUTE"):
        return "EXECUTE " + sql.split()[1].split("(")[0]
    return _table_shape(sql).strip()


def _round_trips(kvnr: str, pin: str) -> tuple[VerifyResult, list[list[str]]]:
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        outcome = pin_verify(kvnr=kvnr, pin=pin, ip="198.51.100.4")
    return outcome.result, [[_shape(sql) for sql in query["sql"].split("; ")] for query in queries.captured_queries]


def test_every_case_sends_the_same_two_round_trips(issue_pin):
    cases = login_cases(issue_pin)
    _round_trips(*cases["unknown KVNR"])  # the connection's first attempt also prepares the lookup
    trips = {name: _round_trips(*cases[name]) for name in ("right", *FAILING)}

    assert trips["right"][0] == VerifyResult.SUCCESS
    assert [trips[name][0] for name in FAILING] == [
        VerifyResult.UNKNOWN,
        VerifyResult.WRONG,
        VerifyResult.WRONG,
        VerifyResult.LOCKED,
    ]
    reference = [
        ["BEGIN", "EXECUTE pins_attempt_lookup"],
        ["UPDATE pins_letterpin", "INSERT audit_auditevent", "COMMIT"],
    ]
    assert {name: statements for name, (_r, statements) in trips.items()} == dict.fromkeys(trips, reference)
    assert not connection.in_atomic_block and connection.get_autocommit()


def test_a_connection_that_lost_its_prepared_lookup_prepares_it_again(issue_pin, member):
    issued = issue_pin(member)
    assert pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None).result == VerifyResult.WRONG
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what a pooler's DISCARD ALL does
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok
    assert LetterPin.objects.get(pk=issued.pin.pk).failed_attempts == 1


def test_a_connection_whose_session_has_the_lookup_prepared_already_uses_it(issue_pin, member):
    from pins.services import verification

    issued = issue_pin(member)
    assert pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None).result == VerifyResult.WRONG
    # A transaction pooler hands this client a server session where the lookup is prepared (through another
    # client): the PREPARE it sends fails, and the attempt goes on with the statement the session has.
    verification._PREPARED_ON.pop(connection.connection, None)
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok
    assert LetterPin.objects.get(pk=issued.pin.pk).failed_attempts == 1


def test_an_error_between_lookup_and_write_rolls_back_and_releases_the_pin(issue_pin, member, monkeypatch):
    issued = issue_pin(member)
    events = AuditEvent.objects.count()

    def failing(pin_hash: str, normalized: str) -> bool:
        raise MemoryError("argon2")

    monkeypatch.setattr(hashing, "pin_hash_verify", failing)
    with pytest.raises(MemoryError):
        pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
    monkeypatch.undo()

    from psycopg.pq import TransactionStatus

    assert connection.connection.info.transaction_status == TransactionStatus.IDLE
    # The row lock went with the rollback: another connection may lock the PIN at once.
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT id FROM pins_letterpin WHERE id = %s FOR UPDATE NOWAIT", [issued.pin.pk])
    finally:
        other.close()
    assert AuditEvent.objects.count() == events
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok


def test_inside_a_callers_transaction_the_attempt_runs_in_atomic(issue_pin, member):
    from django.db import transaction

    issued = issue_pin(member)
    with transaction.atomic():
        result, trips = _round_trips(member.kvnr, issued.plaintext)
        assert result == VerifyResult.SUCCESS
        assert [statement for trip in trips for statement in trip if not statement.startswith(("SAVE", "RELEASE"))] == [
            "SELECT auth_user members_member pins_letterpin",
            "UPDATE pins_letterpin",
            "INSERT audit_auditevent",
        ]
