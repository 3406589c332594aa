"""Concurrent wrong entries against PostgreSQL: no PIN is ever evaluated more than five times."""

import threading

import pytest
from django.db import connection, connections

from pins.constants import PinStatus
from pins.models import LetterPin
from pins.services import pin_verify
from tests.factories import MemberFactory

from .cases import wrong_secret

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-level concurrency is tested on PostgreSQL"),
]

ATTEMPTS = 24


def fire_at_once(attempts: list[tuple[str, str]]) -> None:
    barrier = threading.Barrier(len(attempts))
    errors = []

    def attempt(kvnr: str, pin: str) -> None:
        try:
            barrier.wait()
            pin_verify(kvnr=kvnr, pin=pin, ip="198.51.100.7")
        except Exception as error:  # collected and re-raised in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=args) for args in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_concurrent_wrong_attempts_evaluate_at_most_five_against_the_pin(issue_pin, evaluations):
    member = MemberFactory()
    issued = issue_pin(member)
    fire_at_once([(member.kvnr, wrong_secret(issued.plaintext))] * ATTEMPTS)
    pin = LetterPin.objects.get(pk=issued.pin.pk)
    assert evaluations.count(pin.pin_hash) <= 5
    assert pin.failed_attempts == 5
    assert pin.status == PinStatus.LOCKED


def test_concurrent_attempts_naming_no_pin_count_against_no_pin(issue_pin, evaluations):
    member = MemberFactory()
    pins = [issue_pin(member) for _ in range(3)]
    used = {p.pin.selector for p in pins}
    selectors = [a + b for a in "CDEFGH" for b in "JKLMNP" if a + b not in used][:ATTEMPTS]
    fire_at_once([(member.kvnr, selector + "2345678923") for selector in selectors])
    hashes = {p.pin.pin_hash for p in pins}
    assert not hashes & set(evaluations)
    assert set(member.pins.values_list("failed_attempts", "status")) == {(0, PinStatus.ACTIVE)}
