"""Tests of the uploads beat task."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from uploads import tasks
from uploads.models import Draft, Upload

from .factories import DraftFactory, UploadFactory

pytestmark = pytest.mark.django_db


def test_purge_task_removes_expired_uploads_and_abandoned_drafts_and_can_run_twice(member):
    draft = DraftFactory(member=member)
    UploadFactory(draft=draft, expires_at=timezone.now() - datetime.timedelta(hours=1))
    Draft.objects.filter(pk=draft.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=settings.DRAFT_RETENTION_DAYS + 1)
    )
    assert tasks.purge_expired.delay().get() == {"uploads": 1, "drafts": 1, "orphans": 0}
    assert not Upload.objects.exists() and not Draft.objects.exists()
    assert tasks.purge_expired.delay().get() == {"uploads": 0, "drafts": 0, "orphans": 0}


def test_purge_task_is_in_the_beat_schedule():
    entries = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    assert "uploads.tasks.purge_expired" in entries
