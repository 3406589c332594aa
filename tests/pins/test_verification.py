"""Tests for pins/services/verification.py: the rules of one login attempt (match, wrong entry, lock, card, rehash)."""

import datetime

import pytest
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from pins import hashing
from pins.constants import PinStatus, VerifyResult
from pins.format import pin_parse
from pins.models import LetterPin
from pins.services import LoginEntry, login_entry_parse, pin_verify, pin_verify_entry
from tests.factories import MemberFactory, make_kvnr

from .cases import wrong_secret


@pytest.mark.django_db
def test_correct_pin_logs_in_and_is_audited(member, issue_pin):
    issued = issue_pin(member)
    outcome = pin_verify(kvnr=member.kvnr, pin=issued.display.lower(), ip="203.0.113.9")
    assert outcome.ok and outcome.pin == issued.pin and outcome.member == member
    event = AuditEvent.objects.filter(action=AuditAction.PIN_SUCCESS).get()
    assert event.ip == "203.0.113.9"


@pytest.mark.django_db
def test_kvnr_is_accepted_with_spaces_and_lower_case(member, issue_pin):
    issued = issue_pin(member)
    typed = " " + member.kvnr[0].lower() + " " + member.kvnr[1:5] + "-" + member.kvnr[5:]
    assert pin_verify(kvnr=typed, pin=issued.plaintext, ip=None).ok


@pytest.mark.django_db
def test_several_pins_are_valid_at_the_same_time(member, issue_pin):
    first, second = issue_pin(member), issue_pin(member)
    assert first.pin.selector != second.pin.selector
    assert pin_verify(kvnr=member.kvnr, pin=first.plaintext, ip=None).ok
    assert pin_verify(kvnr=member.kvnr, pin=second.plaintext, ip=None).ok


@pytest.mark.django_db
def test_pin_of_another_member_does_not_work(member, issue_pin):
    other = MemberFactory()
    issued = issue_pin(other)
    outcome = pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
    # The member has no PIN of their own: the lookup finds nothing, as for a KVNR nobody has.
    assert outcome.result in (VerifyResult.WRONG, VerifyResult.UNKNOWN)
    assert not outcome.ok and not outcome.may_explain
    assert LetterPin.objects.get(pk=issued.pin.pk).failed_attempts == 0


@pytest.mark.django_db
def test_wrong_pin_is_counted_against_the_selected_pin_only(member, issue_pin):
    target, other = issue_pin(member), issue_pin(member)
    outcome = pin_verify(kvnr=member.kvnr, pin=wrong_secret(target.plaintext), ip=None)
    assert outcome.result == VerifyResult.WRONG and not outcome.may_explain
    target.pin.refresh_from_db()
    other.pin.refresh_from_db()
    assert (target.pin.failed_attempts, other.pin.failed_attempts) == (1, 0)


def _foreign_selector(*issued) -> str:
    used = {one.pin.selector for one in issued}
    return next(a + b for a in "ABCDEFGH" for b in "ABCDEFGH" if a + b not in used)


@pytest.mark.django_db
def test_entries_naming_none_of_the_members_pins_lock_no_pin(member, issue_pin):
    # Before: each such entry counted against every active PIN, so five of them locked the member out.
    first, second, third = issue_pin(member), issue_pin(member), issue_pin(member)
    selector = _foreign_selector(first, second, third)
    for _ in range(6):
        outcome = pin_verify(kvnr=member.kvnr, pin=selector + "2345678923", ip="203.0.113.66")
        assert outcome.result == VerifyResult.WRONG and not outcome.may_explain
    assert sorted(member.pins.values_list("failed_attempts", "status")) == [(0, PinStatus.ACTIVE)] * 3
    assert not AuditEvent.objects.filter(action=AuditAction.PIN_LOCKED).exists()
    assert AuditEvent.objects.filter(action=AuditAction.PIN_FAILURE, member=member).count() == 6
    assert all(pin_verify(kvnr=member.kvnr, pin=one.plaintext, ip=None).ok for one in (first, second, third))


@pytest.mark.django_db
def test_the_limit_is_counted_on_the_pin_the_entry_names(member, issue_pin, settings):
    settings.PIN_MAX_FAILED_ATTEMPTS = 3
    target, other = issue_pin(member), issue_pin(member)
    for _ in range(3):
        pin_verify(kvnr=member.kvnr, pin=wrong_secret(target.plaintext), ip=None)
    target.pin.refresh_from_db()
    other.pin.refresh_from_db()
    assert (target.pin.status, target.pin.failed_attempts) == (PinStatus.LOCKED, 3)
    assert (other.pin.status, other.pin.failed_attempts) == (PinStatus.ACTIVE, 0)


@pytest.mark.django_db
def test_fifth_wrong_entry_locks_the_pin(member, issue_pin):
    issued = issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None)
    issued.pin.refresh_from_db()
    assert issued.pin.status == PinStatus.LOCKED
    assert AuditEvent.objects.filter(action=AuditAction.PIN_LOCKED).count() == 1


@pytest.mark.django_db
def test_sixth_attempt_after_five_wrong_entries_is_refused_even_with_the_right_pin(member, issue_pin, count_argon2):
    issued = issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None)
    outcome = pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
    assert outcome.result == VerifyResult.LOCKED
    assert not outcome.matched and not outcome.may_explain


@pytest.mark.django_db
def test_locked_pin_is_never_evaluated_again(member, issue_pin, monkeypatch):
    issued = issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None)
    checked = []
    monkeypatch.setattr(hashing, "pin_hash_verify", lambda pin_hash, normalized: checked.append(pin_hash) or True)
    pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
    issued.pin.refresh_from_db()
    assert len(checked) == 1  # the dummy verification, so that the answer takes as long as any other
    assert issued.pin.pin_hash not in checked


@pytest.mark.django_db
def test_successful_login_does_not_reset_the_wrong_entries(member, issue_pin):
    issued = issue_pin(member)
    for _ in range(4):
        pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None)
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok
    pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None)
    issued.pin.refresh_from_db()
    assert issued.pin.status == PinStatus.LOCKED


@pytest.mark.django_db
def test_locking_one_pin_leaves_the_others_usable(member, issue_pin):
    locked, spare = issue_pin(member), issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=wrong_secret(locked.plaintext), ip=None)
    assert pin_verify(kvnr=member.kvnr, pin=spare.plaintext, ip=None).ok


@pytest.mark.django_db
def test_correct_pin_is_refused_when_the_health_card_expired(member, issue_pin):
    issued = issue_pin(member)
    member.egk_valid_until = timezone.localdate() - datetime.timedelta(days=1)
    member.save()
    outcome = pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
    assert outcome.result == VerifyResult.CARD_INVALID and outcome.may_explain


@pytest.mark.django_db
def test_card_valid_through_its_last_day(member, issue_pin):
    issued = issue_pin(member)
    member.egk_valid_until = timezone.localdate()
    member.save()
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok


@pytest.mark.django_db
def test_unknown_kvnr_gives_unknown_without_explanation(db):
    outcome = pin_verify(kvnr="A123456780", pin="ABCD-EFGH-JKLM", ip=None)
    assert outcome.result == VerifyResult.UNKNOWN and not outcome.may_explain


@pytest.mark.django_db
@pytest.mark.parametrize("active_pins", [0, 1, 5])
def test_every_attempt_costs_exactly_one_argon2_verification(member, issue_pin, count_argon2, active_pins):
    pins = [issue_pin(member) for _ in range(active_pins)]
    attempts = [
        ("A123456780", "ABCD-EFGH-JKLM"),  # unknown KVNR
        (member.kvnr, "ZZZZ-EFGH-JKLM"),  # selector of no PIN
        (member.kvnr, "not a pin"),  # malformed
    ]
    if pins:
        attempts += [(member.kvnr, wrong_secret(pins[0].plaintext)), (member.kvnr, pins[-1].plaintext)]
    for kvnr, pin in attempts:
        before = count_argon2["verify"]
        pin_verify(kvnr=kvnr, pin=pin, ip=None)
        assert count_argon2["verify"] - before == 1, (kvnr, active_pins)


@pytest.mark.django_db
def test_hash_is_renewed_on_login_when_parameters_change(member, issue_pin, settings):
    issued = issue_pin(member)
    settings.PIN_ARGON2 = {"time_cost": 3, "memory_cost": 19 * 1024, "parallelism": 1}
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok
    issued.pin.refresh_from_db()
    assert "t=3" in issued.pin.pin_hash
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok


@pytest.mark.django_db
def test_the_lock_is_audited_with_the_configured_limit(member, issue_pin, settings):
    settings.PIN_MAX_FAILED_ATTEMPTS = 3
    issued = issue_pin(member)
    for _ in range(3):
        pin_verify(kvnr=member.kvnr, pin=wrong_secret(issued.plaintext), ip=None)
    issued.pin.refresh_from_db()
    assert issued.pin.status == PinStatus.LOCKED
    assert AuditEvent.objects.get(action=AuditAction.PIN_LOCKED).reason == "3 wrong entries"


def test_a_login_entry_is_parsed_from_what_was_typed():
    kvnr = make_kvnr(12_345_678)
    typed = f" {kvnr[0].lower()} {kvnr[1:5]}-{kvnr[5:]} "
    assert login_entry_parse(kvnr=typed, pin="abcd-efgh-jkLM") == LoginEntry(kvnr=kvnr, pin=pin_parse("ABCDEFGHJKLM"))
    wrong_digit = kvnr[:-1] + str((int(kvnr[-1]) + 1) % 10)
    assert login_entry_parse(kvnr=wrong_digit, pin="not a pin") == LoginEntry()
    assert login_entry_parse(kvnr=None, pin=None) == LoginEntry()


@pytest.mark.django_db
def test_an_entry_without_a_pin_finds_no_rows_and_counts_against_nothing(member, issue_pin, count_argon2):
    issue_pin(member)
    outcome = pin_verify_entry(entry=LoginEntry(kvnr=member.kvnr, pin=None), ip=None)
    assert outcome.result == VerifyResult.UNKNOWN and not outcome.may_explain
    assert count_argon2["verify"] == 1
    assert list(member.pins.values_list("failed_attempts", flat=True)) == [0]
