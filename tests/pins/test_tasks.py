"""Tests for pins/tasks.py: the beat task expires and purges PINs and can run twice."""

import datetime

import pytest
from django.utils import timezone

from pins.constants import PinStatus
from pins.tasks import expire_and_purge_pins


@pytest.mark.django_db
def test_beat_task_expires_due_pins_and_a_second_run_does_nothing(member, issue_pin):
    issued = issue_pin(
        member, now=timezone.now() - datetime.timedelta(days=62)
    )  # past its last day at any hour (days count in Berlin)
    assert expire_and_purge_pins.delay().get() == {"expired": 1, "purged": 0}
    assert expire_and_purge_pins.delay().get() == {"expired": 0, "purged": 0}
    issued.pin.refresh_from_db()
    assert issued.pin.status == PinStatus.EXPIRED
