"""Tests for pins/services.py: the PIN rules (issue, verify, lock, expire, invalidate, purge)."""

import datetime

import pytest
from argon2 import PasswordHasher
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from pins import hashing
from pins.constants import EndReason, PinStatus, VerifyResult
from pins.models import LetterPin
from pins.services import (
    pin_expire_due,
    pin_invalidate,
    pin_invalidate_all,
    pin_purge_dead,
    pin_verify,
)
from tests.factories import MemberFactory


def other_pin_with_same_selector(plaintext: str) -> str:
    last = "A" if plaintext[-1] != "A" else "B"
    return plaintext[:-1] + last


@pytest.fixture
def count_argon2(monkeypatch):
    calls = {"verify": 0}
    original = PasswordHasher.verify

    def counting(self, hash, password):
        calls["verify"] += 1
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


@pytest.mark.django_db
def test_issued_pin_stores_only_an_argon2id_hash(member, issue_pin):
    issued = issue_pin(member)
    pin = LetterPin.objects.get(pk=issued.pin.pk)
    assert pin.pin_hash.startswith("$argon2id$")
    assert issued.plaintext not in pin.pin_hash
    assert "m=19456,t=2,p=1" in pin.pin_hash
    assert issued.plaintext not in repr(issued)


@pytest.mark.django_db
def test_issue_is_audited_without_the_pin(member, issue_pin):
    issued = issue_pin(member)
    event = AuditEvent.objects.get(action=AuditAction.PIN_ISSUED)
    assert event.member == member
    assert issued.plaintext not in str(event.data)


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
    outcome = pin_verify(kvnr=member.kvnr, pin=other_pin_with_same_selector(target.plaintext), ip=None)
    assert outcome.result == VerifyResult.WRONG and not outcome.may_explain
    target.pin.refresh_from_db()
    other.pin.refresh_from_db()
    assert (target.pin.failed_attempts, other.pin.failed_attempts) == (1, 0)


@pytest.mark.django_db
def test_wrong_entry_naming_no_pin_counts_against_every_active_pin(member, issue_pin):
    first, second = issue_pin(member), issue_pin(member)
    used = {first.pin.selector, second.pin.selector}
    selector = next(a + b for a in "ABCDEFGH" for b in "ABCDEFGH" if a + b not in used)
    outcome = pin_verify(kvnr=member.kvnr, pin=selector + "2345678923", ip=None)
    assert outcome.result == VerifyResult.WRONG
    assert list(member.pins.values_list("failed_attempts", flat=True)) == [1, 1]


@pytest.mark.django_db
def test_fifth_wrong_entry_locks_the_pin(member, issue_pin):
    issued = issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=other_pin_with_same_selector(issued.plaintext), ip=None)
    issued.pin.refresh_from_db()
    assert issued.pin.status == PinStatus.LOCKED
    assert AuditEvent.objects.filter(action=AuditAction.PIN_LOCKED).count() == 1


@pytest.mark.django_db
def test_sixth_attempt_after_five_wrong_entries_is_refused_even_with_the_right_pin(member, issue_pin, count_argon2):
    issued = issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=other_pin_with_same_selector(issued.plaintext), ip=None)
    outcome = pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
    assert outcome.result == VerifyResult.LOCKED
    assert not outcome.matched and not outcome.may_explain


@pytest.mark.django_db
def test_locked_pin_is_never_evaluated_again(member, issue_pin, monkeypatch):
    issued = issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=other_pin_with_same_selector(issued.plaintext), ip=None)
    checked = []
    monkeypatch.setattr(hashing, "verify_pin", lambda pin_hash, normalized: checked.append(pin_hash) or True)
    pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
    issued.pin.refresh_from_db()
    assert len(checked) == 1  # the dummy verification, so that the answer takes as long as any other
    assert issued.pin.pin_hash not in checked


@pytest.mark.django_db
def test_successful_login_does_not_reset_the_wrong_entries(member, issue_pin):
    issued = issue_pin(member)
    for _ in range(4):
        pin_verify(kvnr=member.kvnr, pin=other_pin_with_same_selector(issued.plaintext), ip=None)
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok
    pin_verify(kvnr=member.kvnr, pin=other_pin_with_same_selector(issued.plaintext), ip=None)
    issued.pin.refresh_from_db()
    assert issued.pin.status == PinStatus.LOCKED


@pytest.mark.django_db
def test_locking_one_pin_leaves_the_others_usable(member, issue_pin):
    locked, spare = issue_pin(member), issue_pin(member)
    for _ in range(5):
        pin_verify(kvnr=member.kvnr, pin=other_pin_with_same_selector(locked.plaintext), ip=None)
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
        attempts += [(member.kvnr, other_pin_with_same_selector(pins[0].plaintext)), (member.kvnr, pins[-1].plaintext)]
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
def test_transmission_invalidates_every_pin_of_the_member(member, issue_pin):
    first, second = issue_pin(member), issue_pin(member)
    other_member = MemberFactory()
    other = issue_pin(other_member)
    count = pin_invalidate_all(member=member, reason=EndReason.TRANSMITTED, actor=Actor.member(member.user))
    assert count == 2
    outcome = pin_verify(kvnr=member.kvnr, pin=first.plaintext, ip=None)
    assert outcome.result == VerifyResult.ALREADY_USED and outcome.may_explain
    assert pin_verify(kvnr=member.kvnr, pin=second.plaintext, ip=None).result == VerifyResult.ALREADY_USED
    assert pin_verify(kvnr=other_member.kvnr, pin=other.plaintext, ip=None).ok
    assert AuditEvent.objects.filter(action=AuditAction.PIN_INVALIDATED, reason="transmitted").count() == 2


@pytest.mark.django_db
def test_cancelled_pin_is_revoked(member, issue_pin):
    issued = issue_pin(member)
    assert pin_invalidate(pin=issued.pin, reason=EndReason.CANCELLED, actor=Actor.system())
    assert not pin_invalidate(pin=issued.pin, reason=EndReason.CANCELLED, actor=Actor.system())
    assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).result == VerifyResult.REVOKED


@pytest.mark.django_db
def test_expiry_task_marks_only_pins_past_their_validity(member, issue_pin):
    now = timezone.now()
    old = issue_pin(member, now=now - datetime.timedelta(days=61))
    fresh = issue_pin(member, now=now)
    assert pin_expire_due(now=now) == 1
    old.pin.refresh_from_db()
    fresh.pin.refresh_from_db()
    assert (old.pin.status, fresh.pin.status) == (PinStatus.EXPIRED, PinStatus.ACTIVE)
    assert AuditEvent.objects.filter(action=AuditAction.PIN_EXPIRED, member=member).count() == 1
    assert pin_expire_due(now=now) == 0


@pytest.mark.django_db
def test_expiry_works_in_batches(member, issue_pin):
    now = timezone.now()
    for _ in range(5):
        issue_pin(member, now=now - datetime.timedelta(days=70))
    assert pin_expire_due(now=now, batch_size=2) == 5
    assert not LetterPin.objects.filter(status=PinStatus.ACTIVE).exists()


@pytest.mark.django_db
def test_purge_deletes_only_long_ended_pins(member, issue_pin, settings):
    settings.PIN_PURGE_AFTER_DAYS = 30
    now = timezone.now()
    long_dead = issue_pin(member, now=now - datetime.timedelta(days=120))
    recent_dead = issue_pin(member, now=now - datetime.timedelta(days=65))
    active = issue_pin(member, now=now)
    LetterPin.objects.filter(pk=long_dead.pin.pk).update(
        status=PinStatus.EXPIRED, ended_at=now - datetime.timedelta(days=60)
    )
    LetterPin.objects.filter(pk=recent_dead.pin.pk).update(
        status=PinStatus.EXPIRED, ended_at=now - datetime.timedelta(days=5)
    )
    assert pin_purge_dead(now=now) == 1
    assert set(LetterPin.objects.values_list("pk", flat=True)) == {recent_dead.pin.pk, active.pin.pk}
