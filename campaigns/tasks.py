"""Celery tasks of campaigns: split a started campaign into chunks, render a chunk, cancel its letters, watchdog."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import services
from .constants import CampaignStatus
from .models import Campaign

logger = logging.getLogger(__name__)
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError)


@shared_task(acks_late=True, ignore_result=True)
def campaign_dispatch(campaign_id: int) -> int:
    """Send one chunk task per ~CAMPAIGN_CHUNK_SIZE recipients still waiting; running it twice only repeats no-ops."""
    if not Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).exists():
        return 0
    count = 0
    for first_id, last_id in services.campaign_chunks(campaign_id=campaign_id):
        campaign_render_chunk.delay(campaign_id, first_id, last_id)
        count += 1
    if not count:
        services.campaign_finish_if_done(campaign_id=campaign_id)
    return count


@shared_task(bind=True, acks_late=True, max_retries=5, ignore_result=True)
def campaign_render_chunk(self, campaign_id: int, first_id: int, last_id: int) -> int:
    """Issue and render one chunk's letters, then form full print batches and finish the campaign when done."""
    try:
        made = services.campaign_render_chunk(campaign_id=campaign_id, first_id=first_id, last_id=last_id)
        services.campaign_batch_ready(campaign_id=campaign_id)
        services.campaign_finish_if_done(campaign_id=campaign_id)
    except TRANSIENT_ERRORS as error:
        logger.warning(
            "campaign %s chunk %s-%s: %s, trying again", campaign_id, first_id, last_id, type(error).__name__
        )
        raise self.retry(countdown=10 * 2**self.request.retries) from None
    return made


@shared_task(acks_late=True, ignore_result=True)
def campaign_cancel_letters(campaign_id: int) -> int:
    """After a cancellation: end the PINs of the campaign's letters not yet collected for print."""
    cancelled, _collected = services.campaign_cancel_letters(campaign_id=campaign_id)
    return cancelled


@shared_task(acks_late=True, ignore_result=True)
def campaign_watchdog() -> int:
    """Beat: a running campaign without progress for a while goes to the dispatcher again (a dead worker whose
    chunk waits for redelivery, a broker outage at start): nothing is lost, and the chunks' locks keep it once."""
    ids = services.campaign_stalled()
    for campaign_id in ids:
        campaign_dispatch.delay(campaign_id)
    return len(ids)
