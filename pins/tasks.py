"""Periodic PIN housekeeping run by Celery beat."""

from celery import shared_task

from .services import pin_expire_due, pin_purge_dead


@shared_task(acks_late=True)
def expire_and_purge_pins() -> dict[str, int]:
    """Mark PINs past their validity as expired and delete long-ended ones; safe to run twice."""
    return {"expired": pin_expire_due(), "purged": pin_purge_dead()}
