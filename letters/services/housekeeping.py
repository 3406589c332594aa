"""Letters' housekeeping: delete PDFs whose retention after collection has passed, cancel letters whose PIN ended."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from pins.constants import PinStatus

from ..constants import LetterStatus
from ..models import LetterRequest, LetterStatusChange
from .common import letter_pdf_delete_on_commit
from .requests import letter_cancel

logger = logging.getLogger(__name__)

# Letters handled per transaction while purging (a chunk, not a rule: the purge goes on until none is left).
PURGE_CHUNK = 500


def letter_purge_pdfs(*, now: datetime.datetime | None = None, batch_size: int = PURGE_CHUNK) -> int:
    """Delete PDFs collected more than LETTER_PDF_RETENTION_DAYS ago, and cancel unprinted letters whose PIN ended.

    A rendered letter whose PIN has expired or been ended (the member transmitted) must not be printed any more.
    Returns the number of PDFs deleted.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.LETTER_PDF_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            letters = list(
                LetterRequest.objects.select_for_update(skip_locked=True)
                .filter(status=LetterStatus.COLLECTED, collected_at__lt=cutoff)
                .exclude(pdf_name="")
                .order_by("id")[:batch_size]
            )
            if not letters:
                break
            LetterRequest.objects.filter(pk__in=[letter.pk for letter in letters]).update(
                pdf_name="", pdf_deleted_at=now
            )
            LetterStatusChange.objects.bulk_create(
                LetterStatusChange(letter=letter, status=letter.status, at=now, note="PDF gelöscht")
                for letter in letters
            )
            for letter in letters:
                letter_pdf_delete_on_commit(letter=letter)
        total += len(letters)
    dead = LetterRequest.objects.filter(status=LetterStatus.RENDERED).exclude(pin__status=PinStatus.ACTIVE)
    for letter in dead.select_related("pin")[:batch_size]:
        letter_cancel(letter=letter, actor=Actor.system())
        total += 1
    if total:
        logger.info("deleted %d letter PDFs", total)
    return total
