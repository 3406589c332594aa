"""Celery tasks of the uploads app: the check of each completed file, and periodic housekeeping run by beat."""

from celery import shared_task

from . import screening, services


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


@shared_task(bind=True, acks_late=True)
def screen_file(self, kind: str, pk: int) -> str:
    """Scan and disarm one stored upload ("upload") or transmitted document ("document"); a second run is a no-op."""
    return screening.file_screen(kind=kind, pk=pk)


@shared_task(bind=True, acks_late=True)
def rescan_held(self) -> int:
    """Hand held files (scanner was away) and pending ones the worker has not reached to the worker again."""
    return screening.files_rescan()


@shared_task(bind=True, acks_late=True)
def forget_submissions(self) -> int:
    """Delete the documents, message and contact changes of submissions past their retention; safe to run twice."""
    return services.submissions_forget_due()
