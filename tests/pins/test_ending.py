"""Tests for pins/services/ending.py: invalidating PINs (transmission, a cancelled letter), expiring and purging them."""

import datetime

import pytest
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from pins.constants import EndReason, PinStatus, VerifyResult
from pins.models import LetterPin
from pins.services import pin_expire_due, pin_invalidate, pin_invalidate_all, pin_purge_dead, pin_verify
from tests.factories import MemberFactory


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
    old = issue_pin(
        member, now=now - datetime.timedelta(days=62)
    )  # past its last day at any hour (days count in Berlin)
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
