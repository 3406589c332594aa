"""Celery tasks of the letters app: render one letter, re-enqueue waiting requests, purge collected PDFs."""

import logging
import random

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from . import services
from .rendering import LetterRenderError

logger = logging.getLogger(__name__)

# Worth another try later: the database or the file storage was briefly away, or the worker ran out of time.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, SoftTimeLimitExceeded)


def _backoff(retries: int) -> int:
    """Seconds before the next try: 10 s, 20 s, 40 s ... at most 10 minutes, with jitter against herds."""
    return min(600, 10 * 2**retries) + random.randint(0, 5)


@shared_task(bind=True, acks_late=True, max_retries=settings.LETTER_MAX_ATTEMPTS - 1, ignore_result=True)
def render_letter_task(self, letter_request_id: int) -> None:
    """Render one PIN letter; a second run for the same request does nothing. Only the id travels via the broker."""
    try:
        services.letter_render(request_id=letter_request_id)
    except LetterRenderError as error:
        services.letter_mark_failed(request_id=letter_request_id, reason=str(error))
    except TRANSIENT_ERRORS as error:
        # Only the error's type is logged or stored: its text is not needed and must never carry letter content.
        kind = type(error).__name__
        if self.request.retries >= self.max_retries:
            services.letter_mark_failed(
                request_id=letter_request_id,
                reason=f"vorübergehender Fehler ({kind}) nach {self.max_retries + 1} Versuchen",
            )
            return
        logger.warning("letter %s: %s, trying again", letter_request_id, kind)
        raise self.retry(countdown=_backoff(self.request.retries)) from None


@shared_task(acks_late=True, ignore_result=True)
def requeue_stale_letters() -> int:
    """Beat: hand requests still waiting (the broker was down when they were made) to the worker again."""
    return services.letter_requeue_stale()


@shared_task(acks_late=True, ignore_result=True)
def purge_collected_pdfs() -> int:
    """Beat: delete PDFs whose retention after collection has passed."""
    return services.letter_purge_pdfs()
