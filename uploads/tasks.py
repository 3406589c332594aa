"""Periodic housekeeping of the uploads app run by Celery beat."""

from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True)
def purge_expired(self) -> dict[str, int]:
    """Delete expired partial uploads, drafts of members whose PINs all ended long ago, and stored segments no
    row lists (whichever node wrote them); safe to run twice."""
    return {
        "uploads": services.uploads_purge_expired(),
        "drafts": services.drafts_purge_expired(),
        "orphans": services.uploads_purge_orphans(),
    }
