"""Tests for pins/services/issuing.py: issuing PINs, and that the PIN rules stay importable from pins.services."""

import pytest

from audit.constants import AuditAction
from audit.models import AuditEvent
from pins.models import LetterPin


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
