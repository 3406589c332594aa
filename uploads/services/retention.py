"""Forgetting on schedule: a transmitted submission's documents, message and contact changes are deleted once the
insurer has had them for SUBMISSION_RETENTION_DAYS_AFTER_DONE days (first exported or marked done), and
SUBMISSION_RETENTION_DAYS_MAX days after transmission regardless. What stays is what the receipt shows (reference,
member, reason, transmission time, each file's name, size and SHA-256) and the audit rows."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record

from ..models import DocumentPage, Submission, SubmissionDocument
from .viewing import document_renders_take

# Submissions looked at per query; each one is deleted in its own transaction.
FORGET_BATCH_SIZE = 100


def submission_close(*, submission: Submission, now: datetime.datetime | None = None) -> None:
    """Note the first time the insurer had the submission (exported or marked done): the retention counts from
    then. Later exports and status changes do not move it."""
    now = now or timezone.now()
    if Submission.objects.filter(pk=submission.pk, closed_at__isnull=True).update(closed_at=now):
        submission.closed_at = now


def _due(now: datetime.datetime) -> Q:
    after_done = now - datetime.timedelta(days=settings.SUBMISSION_RETENTION_DAYS_AFTER_DONE)
    upper_limit = now - datetime.timedelta(days=settings.SUBMISSION_RETENTION_DAYS_MAX)
    return Q(documents_deleted_at__isnull=True) & (Q(closed_at__lte=after_done) | Q(transmitted_at__lte=upper_limit))


def _rule(submission: Submission) -> str:
    """Which limit made the submission due: "done" (days after export or done) or "max" (the upper limit)."""
    upper_limit = submission.transmitted_at + datetime.timedelta(days=settings.SUBMISSION_RETENTION_DAYS_MAX)
    return "max" if submission.documents_delete_after == upper_limit else "done"


def submission_forget(*, submission_id: int, now: datetime.datetime | None = None) -> bool:
    """Delete one due submission's documents (every stored file: segments, disarmed copy, the viewer's pages), its
    message and contact changes, with its audit row in the same transaction; True if it did. A submission another worker
    holds, one not yet due, or one already forgotten is left alone, so a second run does nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        submission = Submission.objects.select_for_update(skip_locked=True).filter(_due(now), pk=submission_id).first()
        if submission is None:
            return False
        documents = list(SubmissionDocument.objects.select_for_update().filter(submission=submission))
        renders = document_renders_take(documents=documents)  # the viewer's pages go with their documents
        SubmissionDocument.objects.filter(submission=submission).update(storage_name="", segments=[])
        # Pages of a document made of photos whose PDF was never assembled still have their copies.
        pages = list(DocumentPage.objects.filter(document__submission=submission).exclude(storage_name=""))
        DocumentPage.objects.filter(pk__in=[page.pk for page in pages]).update(storage_name="", segments=[])
        # A submission is immutable through save(); forgetting is the one write that empties its content.
        Submission.objects.filter(pk=submission.pk).update(message="", contact_changes={}, documents_deleted_at=now)
        audit_record(
            action=AuditAction.SUBMISSION_FORGOTTEN,
            actor=Actor.system(),
            member=submission.member,
            data={"reference": submission.reference, "documents": len(documents), "rule": _rule(submission)},
        )
    # After the commit: the rows no longer list these names, so a file whose removal failed (storage away) is
    # an orphan the purge (uploads_purge_orphans) removes later.
    for stored in [*documents, *pages, *renders]:
        stored.discard()
    return True


def submissions_forget_due(*, now: datetime.datetime | None = None) -> int:
    """Forget every submission whose documents are due for deletion, in batches; returns how many. Rows another
    worker holds are skipped (the next run takes them)."""
    now = now or timezone.now()
    count = 0
    last_id = 0
    while True:
        ids = list(
            Submission.objects.filter(_due(now), pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:FORGET_BATCH_SIZE]
        )
        if not ids:
            return count
        for submission_id in ids:
            count += submission_forget(submission_id=submission_id, now=now)
        last_id = ids[-1]
