"""Equal work (issue 13.2): unknown KVNR, wrong PIN, a selector naming no PIN and a locked PIN cost the same.

Timing is measured by hand (bench/enumeration.py); here the work itself is compared: the same statements of
the same kind against the same tables, in the same order, and one Argon2 verification each.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pins.constants import VerifyResult
from pins.services import pin_verify
from tests.factories import make_kvnr

from .cases import FAILING, login_cases

pytestmark = pytest.mark.django_db


def _shape(sql: str) -> str:
    """A statement's kind and the tables it touches, without its values: what the database has to do."""
    sql = sql.strip()
    kind = sql.split()[0].upper()
    tables = sorted(set(re.findall(r'(?:FROM|INTO|UPDATE|JOIN)\s+"(\w+)"', sql)))
    return f"{kind} {' '.join(tables)}"


def _work(count_argon2, kvnr: str, pin: str) -> tuple[VerifyResult, list[str], int]:
    before = count_argon2["verify"]
    with CaptureQueriesContext(connection) as queries:
        outcome = pin_verify(kvnr=kvnr, pin=pin, ip="198.51.100.4")
    # Statements sent together in one round trip are compared one by one.
    statements = [_shape(sql) for query in queries.captured_queries for sql in query["sql"].split("; ")]
    argon2 = count_argon2["verify"] - before
    return outcome.result, [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE"))], argon2


def test_unknown_wrong_no_such_selector_and_locked_do_the_same_work(count_argon2, issue_pin):
    every = login_cases(issue_pin)
    cases = {name: every[name] for name in FAILING}
    results = {name: _work(count_argon2, *args) for name, args in cases.items()}

    assert {name: result for name, (result, _s, _n) in results.items()} == {
        "unknown KVNR": VerifyResult.UNKNOWN,
        "wrong PIN": VerifyResult.WRONG,
        "no such selector": VerifyResult.WRONG,
        "locked PIN": VerifyResult.LOCKED,
    }
    assert {name: argon2 for name, (_r, _s, argon2) in results.items()} == dict.fromkeys(cases, 1)
    shapes = {name: statements for name, (_r, statements, _n) in results.items()}
    reference = shapes["unknown KVNR"]
    assert [s.split()[0] for s in reference] == ["SELECT", "UPDATE", "INSERT"]
    for name, statements in shapes.items():
        assert statements == reference, name


def test_an_unknown_kvnr_leaves_an_audit_row_with_the_address(issue_pin):
    from audit.constants import AuditAction
    from audit.models import AuditEvent

    pin_verify(kvnr=make_kvnr(66_666_666), pin="ABCD-EFGH-JKLM", ip="198.51.100.9")
    event = AuditEvent.objects.get(action=AuditAction.PIN_FAILURE)
    assert (event.member, event.ip, event.reason) == (None, "198.51.100.9", "unknown KVNR")
