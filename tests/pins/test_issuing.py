"""Tests for pins/services/issuing.py: issuing PINs, and that the PIN rules stay importable from pins.services."""

import datetime

import pytest
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from pins.models import LetterPin
from pins.services import pin_issue


@pytest.mark.production_argon2
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


def test_the_rules_other_apps_use_are_importable_from_pins_services():
    from pins import services

    for name in ("IssuedPin", "pin_issue", "pin_verify", "pin_is_usable", "pin_invalidate", "pin_invalidate_all"):
        assert hasattr(services, name), name


@pytest.mark.django_db
def test_a_shorter_validity_is_written_once_and_stated_in_the_audit_row(member):
    issued = pin_issue(member=member, purpose="Kampagne", actor=Actor.system(), validity_days=14)
    pin = LetterPin.objects.get(pk=issued.pin.pk)
    assert (timezone.localdate(pin.expires_at) - timezone.localdate(pin.issued_at)).days == 14
    event = AuditEvent.objects.get(action=AuditAction.PIN_ISSUED)
    assert datetime.datetime.fromisoformat(event.data["expires_at"]) == pin.expires_at


@pytest.mark.django_db
def test_a_validity_longer_than_the_setting_is_cut_to_the_setting(member, settings):
    issued = pin_issue(member=member, purpose="Kampagne", actor=Actor.system(), validity_days=999)
    days = (timezone.localdate(issued.pin.expires_at) - timezone.localdate(issued.pin.issued_at)).days
    assert days == settings.PIN_VALIDITY_DAYS
    with pytest.raises(ValueError):
        pin_issue(member=member, purpose="Kampagne", actor=Actor.system(), validity_days=0)


@pytest.mark.django_db
def test_a_campaign_letters_pin_audit_row_states_the_campaigns_validity(member):
    # Before: the PIN was issued with PIN_VALIDITY_DAYS, audited so, and shortened by letters afterwards.
    from letters.services import letters_create_rendered

    staff = Actor.system()
    (letter,) = letters_create_rendered(
        members=[member], purpose="Kampagne", case_title="Familienversicherung", template="standard",
        validity_days=14, actor=staff,
    )  # fmt: skip
    pin = LetterPin.objects.get(pk=letter.pin_id)
    assert (timezone.localdate(pin.expires_at) - timezone.localdate(pin.issued_at)).days == 14
    event = AuditEvent.objects.get(action=AuditAction.PIN_ISSUED, data__pin_id=pin.pk)
    assert datetime.datetime.fromisoformat(event.data["expires_at"]) == pin.expires_at


@pytest.mark.django_db
def test_many_pins_are_issued_in_order_each_with_its_audit_row_and_the_validity_asked_for(issue_pin):
    from pins import hashing
    from pins.services import pins_issue_many
    from tests.factories import MemberFactory

    members = MemberFactory.create_batch(3)
    issue_pin(members[1])
    issued = pins_issue_many(members=members, purpose="Kampagne", actor=Actor.system(), validity_days=14)
    assert [one.pin.member_id for one in issued] == [member.pk for member in members]
    for one in issued:
        pin = LetterPin.objects.get(pk=one.pin.pk)
        assert hashing.pin_hash_verify(pin.pin_hash, one.plaintext)
        assert pin.selector == one.plaintext[:2]
        assert (timezone.localdate(pin.expires_at) - timezone.localdate(pin.issued_at)).days == 14
        (event,) = AuditEvent.objects.filter(action=AuditAction.PIN_ISSUED, data__pin_id=pin.pk)
        assert event.member_id == pin.member_id and event.reason == "Kampagne"
        assert datetime.datetime.fromisoformat(event.data["expires_at"]) == pin.expires_at
        assert one.plaintext not in str(event.data)
    # The member who had a PIN keeps it valid and got one with another selector.
    assert LetterPin.objects.filter(member=members[1]).values("selector").distinct().count() == 2


@pytest.mark.django_db
def test_a_selector_taken_meanwhile_makes_each_pin_issued_on_its_own_with_one_audit_row(issue_pin, monkeypatch):
    from pins.services import issuing, pins_issue_many
    from tests.factories import MemberFactory

    members = MemberFactory.create_batch(2)
    taken = issue_pin(members[0]).pin.selector
    # As if another process had issued this selector to the member between the read and the insert: the group's
    # picks (one per member) all name it; pin_issue's own picks afterwards are the real ones.
    picks = iter([taken] * len(members))
    real = issuing._selector_free
    monkeypatch.setattr(issuing, "_selector_free", lambda used: next(picks, None) or real(used))
    issued = pins_issue_many(members=members, purpose="Kampagne", actor=Actor.system())
    assert [one.pin.member_id for one in issued] == [member.pk for member in members]
    assert LetterPin.objects.filter(member=members[0]).values("selector").distinct().count() == 2
    assert LetterPin.objects.count() == 3
    assert AuditEvent.objects.filter(action=AuditAction.PIN_ISSUED).count() == 3
    for one in issued:
        assert LetterPin.objects.get(pk=one.pin.pk).selector == one.plaintext[:2]
