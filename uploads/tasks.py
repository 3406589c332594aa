"""Celery tasks of the uploads app: the check of each completed file, and periodic housekeeping run by beat."""

from celery import shared_task

from . import rendering, screening, services
from .constants import RENDER_DOCUMENT_TASK, SCREEN_DOCUMENT_TASK, SCREEN_UPLOAD_TASK
from .models import SubmissionDocument, Upload


@shared_task(bind=True, acks_late=True)
def purge_expired(self) -> dict[str, int]:
    """Delete expired partial uploads, drafts of members whose PINs all ended long ago, and stored segments no
    row lists (whichever node wrote them); safe to run twice."""
    return {
        "uploads": services.uploads_purge_expired(),
        "drafts": services.drafts_purge_expired(),
        "orphans": services.uploads_purge_orphans(),
    }


@shared_task(bind=True, acks_late=True)
def purge_quarantine(self) -> int:
    """Delete quarantined files past QUARANTINE_RETENTION_DAYS; safe to run twice."""
    return screening.quarantine_purge()


def _screen(model: type[Upload | SubmissionDocument], pk: int) -> str:
    row = screening.file_waiting(model=model, pk=pk)
    if row is None:  # removed, already checked, or (an upload) not complete yet
        return "skipped"
    return screening.file_screen(row=row)


# Scan and disarm one stored upload, or one transmitted document, by id; a second run is a no-op. With acks_late a
# worker killed mid-check gets the message again; file_screen refuses the file after two runs that never finished,
# so no file is redelivered for ever. Their names are the models' SCAN_TASK (uploads.constants).
@shared_task(bind=True, acks_late=True, name=SCREEN_UPLOAD_TASK)
def screen_upload(self, pk: int) -> str:
    """Scan and disarm the file of one completed upload; "skipped" when it does not wait for the check."""
    return _screen(Upload, pk)


@shared_task(bind=True, acks_late=True, name=SCREEN_DOCUMENT_TASK)
def screen_document(self, pk: int) -> str:
    """Scan and disarm the file of one transmitted document; "skipped" when it does not wait for the check."""
    return _screen(SubmissionDocument, pk)


@shared_task(bind=True, acks_late=True)
def rescan_held(self) -> int:
    """Hand held files (scanner was away) and pending ones the worker has not reached to the worker again."""
    return screening.files_rescan()


@shared_task(bind=True, acks_late=True)
def forget_submissions(self) -> int:
    """Delete the documents, message and contact changes of submissions past their retention; safe to run twice."""
    return services.submissions_forget_due()


# Render one deliverable document's pages for the case worker's viewer, by id; a second run is a no-op. Limited
# like the disarm (a child under memory, CPU and wall limits), so a hostile page ends as "refused", never a loop.
@shared_task(bind=True, acks_late=True, name=RENDER_DOCUMENT_TASK)
def render_document(self, pk: int) -> str:
    """Render the pages of one transmitted document once it is deliverable; "skipped" when there is nothing to do."""
    return rendering.document_render(document_id=pk)
