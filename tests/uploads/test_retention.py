"""Forgetting on schedule (uploads/services/retention.py): a transmitted submission's documents, message and
contact changes are deleted the configured days after it was exported or marked done, or after the upper limit."""

import datetime
import threading

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection, connections, transaction
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from core.storage import list_files, private_storage
from tests.staff.factories import transmitted_submission
from tests.uploads.factories import pdf_bytes
from uploads import services, tasks
from uploads.constants import SubmissionStatus
from uploads.models import Submission

pytestmark = pytest.mark.django_db

TRANSMITTED = datetime.datetime(2027, 3, 1, 9, 0, tzinfo=datetime.UTC)
MESSAGE = "Mein Attest, bitte bis Freitag bearbeiten."


def _stored(submission) -> list[str]:
    """Every name the private storage holds for the submission's documents (segments and disarmed copies)."""
    ids = [str(document.public_id) for document in submission.documents.all()]
    return [name for name, _modified in list_files(private_storage(), "documents") if any(i in name for i in ids)]


@pytest.fixture
def submission(member):
    with time_machine.travel(TRANSMITTED, tick=False):
        return transmitted_submission(
            member, files={"Attest.pdf": pdf_bytes(), "Rezept.pdf": pdf_bytes(pages=2)}, message=MESSAGE
        )


def _mark_done(submission, at: datetime.datetime) -> None:
    with time_machine.travel(at, tick=False):
        services.submission_set_status(
            submission=submission, status=SubmissionStatus.DONE, note="", actor=Actor.system()
        )


def _forget_at(at: datetime.datetime) -> int:
    with time_machine.travel(at, tick=False):
        return services.submissions_forget_due()


def test_the_submission_starts_with_stored_documents_and_its_message(submission):
    stored = _stored(submission)
    assert len(stored) >= 2
    assert any(name.endswith(".safe") for name in stored)  # the worker's disarmed copies
    assert submission.message == MESSAGE
    assert submission.contact_changes == {"town": "Bonn"}


@pytest.mark.parametrize("days", [1, 30])
def test_documents_stay_until_the_configured_days_after_done_and_are_gone_after(settings, submission, days):
    settings.SUBMISSION_RETENTION_DAYS_AFTER_DONE = days
    done = TRANSMITTED + datetime.timedelta(days=2)
    _mark_done(submission, done)
    due = done + datetime.timedelta(days=days)
    stored_before = _stored(submission)

    assert _forget_at(due - datetime.timedelta(minutes=1)) == 0
    assert _stored(submission) == stored_before
    submission.refresh_from_db()
    assert submission.message == MESSAGE
    assert submission.documents_delete_after == due

    assert _forget_at(due + datetime.timedelta(minutes=1)) == 1
    assert _stored(submission) == []
    submission.refresh_from_db()
    assert submission.message == ""
    assert submission.contact_changes == {}
    assert submission.documents_deleted_at == due + datetime.timedelta(minutes=1)
    assert submission.documents_delete_after is None
    for document in submission.documents.all():
        assert document.storage_name == ""
        assert document.segments == []


def test_an_export_starts_the_count_like_done(settings, member):
    from staff.services import submission_export

    settings.SUBMISSION_RETENTION_DAYS_AFTER_DONE = 10
    with time_machine.travel(TRANSMITTED, tick=False):
        submission = transmitted_submission(member, files={"Attest.pdf": pdf_bytes()})
    exported = TRANSMITTED + datetime.timedelta(days=3)
    with time_machine.travel(exported, tick=False):
        b"".join(submission_export(submission=submission, actor=Actor.system()).stream)
    # A later export or status change does not move the date.
    _mark_done(submission, exported + datetime.timedelta(days=5))
    submission.refresh_from_db()
    assert submission.closed_at == exported
    assert _forget_at(exported + datetime.timedelta(days=10, seconds=-1)) == 0
    assert _forget_at(exported + datetime.timedelta(days=10)) == 1
    assert _stored(submission) == []


def test_the_upper_limit_forgets_a_submission_never_exported(settings, submission):
    settings.SUBMISSION_RETENTION_DAYS_MAX = 365
    limit = TRANSMITTED + datetime.timedelta(days=365)
    assert submission.closed_at is None
    assert submission.documents_delete_after == limit

    assert _forget_at(limit - datetime.timedelta(minutes=1)) == 0
    assert _stored(submission) != []
    assert _forget_at(limit + datetime.timedelta(minutes=1)) == 1
    assert _stored(submission) == []
    event = AuditEvent.objects.get(action=AuditAction.SUBMISSION_FORGOTTEN)
    assert event.data["rule"] == "max"


def test_the_upper_limit_applies_when_done_comes_late(settings, submission):
    settings.SUBMISSION_RETENTION_DAYS_MAX = 60
    settings.SUBMISSION_RETENTION_DAYS_AFTER_DONE = 30
    _mark_done(submission, TRANSMITTED + datetime.timedelta(days=50))
    submission.refresh_from_db()
    assert submission.documents_delete_after == TRANSMITTED + datetime.timedelta(days=60)
    assert _forget_at(TRANSMITTED + datetime.timedelta(days=60, minutes=1)) == 1


def test_the_receipt_data_stays(submission):
    before = [(d.public_id, d.name, d.size, d.sha256, d.sent_sha256) for d in submission.documents.all()]
    _mark_done(submission, TRANSMITTED)
    _forget_at(TRANSMITTED + datetime.timedelta(days=django_settings.SUBMISSION_RETENTION_DAYS_AFTER_DONE + 1))
    after = Submission.objects.get(pk=submission.pk)
    assert [(d.public_id, d.name, d.size, d.sha256, d.sent_sha256) for d in after.documents.all()] == before
    assert all(sha for _id, _name, _size, sha, _sent in before)
    assert (after.reference, after.member_id, after.reason_id, after.transmitted_at) == (
        submission.reference,
        submission.member_id,
        submission.reason_id,
        submission.transmitted_at,
    )


def test_one_audit_row_without_member_content_and_a_second_run_does_nothing(submission):
    _mark_done(submission, TRANSMITTED)
    later = TRANSMITTED + datetime.timedelta(days=django_settings.SUBMISSION_RETENTION_DAYS_AFTER_DONE + 1)
    names = [document.name for document in submission.documents.all()]
    assert _forget_at(later) == 1
    assert _forget_at(later + datetime.timedelta(days=1)) == 0
    event = AuditEvent.objects.get(action=AuditAction.SUBMISSION_FORGOTTEN)
    assert event.data == {"reference": submission.reference, "documents": 2, "rule": "done"}
    assert event.actor_kind == "system"
    flat = str(event.data) + event.reason
    assert MESSAGE not in flat and "Bonn" not in flat
    assert not any(name in flat for name in names)


def test_the_deletion_rolls_back_with_its_audit_row(monkeypatch, submission):
    from uploads.services import retention

    _mark_done(submission, TRANSMITTED)

    def failing_audit(**kwargs):
        raise RuntimeError("audit table away")

    monkeypatch.setattr(retention, "audit_record", failing_audit)
    with pytest.raises(RuntimeError):
        _forget_at(TRANSMITTED + datetime.timedelta(days=365))
    submission.refresh_from_db()
    assert submission.documents_deleted_at is None
    assert submission.message == MESSAGE
    assert _stored(submission) != []


def test_other_submissions_are_left_alone(settings, submission, member):
    from tests.factories import MemberFactory

    with time_machine.travel(TRANSMITTED + datetime.timedelta(days=40), tick=False):
        newer = transmitted_submission(MemberFactory(), files={"Brief.pdf": pdf_bytes()})
    _mark_done(submission, TRANSMITTED)
    assert _forget_at(TRANSMITTED + datetime.timedelta(days=41)) == 1
    assert _stored(submission) == []
    assert len(_stored(newer)) >= 1
    newer.refresh_from_db()
    assert newer.documents_deleted_at is None


def test_the_beat_task_forgets_what_is_due(submission):
    _mark_done(submission, TRANSMITTED)
    with time_machine.travel(TRANSMITTED + datetime.timedelta(days=400), tick=False):
        tasks.forget_submissions.delay()
    assert _stored(submission) == []
    assert Submission.objects.get(pk=submission.pk).documents_deleted_at is not None


def test_beat_runs_the_task():
    entries = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert "uploads.tasks.forget_submissions" in entries


def test_a_deleted_submission_refuses_downloads_and_exports_clearly(submission):
    from uploads.exceptions import DocumentsDeleted

    _mark_done(submission, TRANSMITTED)
    _forget_at(TRANSMITTED + datetime.timedelta(days=400))
    submission.refresh_from_db()
    with pytest.raises(DocumentsDeleted) as refused:
        services.submission_ensure_deliverable(submission=submission)
    assert refused.value.status == 410
    assert "gelöscht" in refused.value.message
    with pytest.raises(DocumentsDeleted):
        services.document_ensure_deliverable(document=submission.documents.first())


def test_nothing_is_due_today_for_a_fresh_submission(member):
    submission = transmitted_submission(member, files={"Attest.pdf": pdf_bytes()})
    assert services.submissions_forget_due(now=timezone.now()) == 0
    assert _stored(submission) != []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_submission_another_worker_holds_is_skipped_and_taken_by_the_next_run(member):
    with time_machine.travel(TRANSMITTED, tick=False):
        submission = transmitted_submission(member, files={"Attest.pdf": pdf_bytes()})
    _mark_done(submission, TRANSMITTED)
    later = TRANSMITTED + datetime.timedelta(days=400)
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with transaction.atomic():
                Submission.objects.select_for_update().get(pk=submission.pk)
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=other_worker)
    holder.start()
    try:
        assert locked.wait(30)
        assert services.submissions_forget_due(now=later) == 0  # skipped, not waited for
        assert _stored(submission) != []
    finally:
        release.set()
        holder.join(30)
    assert services.submissions_forget_due(now=later) == 1
    assert _stored(submission) == []


def test_the_migration_counts_from_an_earlier_export_or_done(member):
    import importlib

    from django.apps import apps

    from audit.services import audit_record

    backfill = importlib.import_module("uploads.migrations.0006_submission_retention").closed_at_backfill
    exported = TRANSMITTED + datetime.timedelta(days=3)
    with time_machine.travel(TRANSMITTED, tick=False):
        first = transmitted_submission(member, files={"Attest.pdf": pdf_bytes()})
    with time_machine.travel(exported, tick=False):
        audit_record(action=AuditAction.SUBMISSION_EXPORTED, actor=Actor.system(), data={"reference": first.reference})
    from tests.factories import MemberFactory

    with time_machine.travel(TRANSMITTED, tick=False):
        second = transmitted_submission(MemberFactory())
        untouched = transmitted_submission(MemberFactory())
    _mark_done(second, TRANSMITTED + datetime.timedelta(days=5))
    Submission.objects.update(closed_at=None)  # as before this release

    backfill(apps, None)

    closed = dict(Submission.objects.values_list("pk", "closed_at"))
    assert closed == {
        first.pk: exported,
        second.pk: TRANSMITTED + datetime.timedelta(days=5),
        untouched.pk: None,
    }
