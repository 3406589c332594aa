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
    """Scan and disarm one stored upload ("upload") or transmitted document ("document"); a second run is a no-op.

    With acks_late a worker killed mid-check gets the message again; file_screen refuses the file after two runs
    that never finished, so no file is redelivered for ever."""
    row = screening.file_waiting(kind=kind, pk=pk)
    if row is None:  # removed, already checked, or (an upload) not complete yet
        return "skipped"
    return screening.file_screen(row=row)


@shared_task(bind=True, acks_late=True)
def rescan_held(self) -> int:
    """Hand held files (scanner was away) and pending ones the worker has not reached to the worker again."""
    return screening.files_rescan()
