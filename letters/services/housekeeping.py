"""Letters' housekeeping: delete PDFs whose retention after collection has passed, cancel letters whose PIN ended."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit.services import Actor
from pins.constants import PinStatus

from ..constants import LetterStatus
from ..models import LetterLayer, LetterRequest, LetterStatusChange
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
    layers = letter_purge_layers(now=now)
    if total or layers:
        logger.info("deleted %d letter PDFs and %d shared letter layers", total, layers)
    return total


def letter_purge_layers(*, now: datetime.datetime | None = None) -> int:
    """Delete shared layers (letters.composition) that no stored letter needs any more; returns the count.

    A layer is kept while any letter with a stored PDF refers to it. The check is repeated under the row's lock:
    a letter being linked to the layer at that moment holds a key-share lock on it (its foreign key), so the
    purge either waits and then sees the letter, or deletes first and that letter's transaction fails and is
    retried (a new layer is stored then).
    """
    now = now or timezone.now()
    needed = LetterRequest.objects.filter(layer=OuterRef("pk")).exclude(pdf_name="")
    cutoff = now - datetime.timedelta(hours=1)
    count = 0
    for pk in LetterLayer.objects.filter(created_at__lt=cutoff).exclude(Exists(needed)).values_list("pk", flat=True):
        with transaction.atomic():
            layer = LetterLayer.objects.select_for_update().filter(pk=pk).exclude(Exists(needed)).first()
            if layer is None:
                continue
            LetterRequest.objects.filter(layer=layer).update(layer=None)
            layer.delete()
            transaction.on_commit(layer.discard)
        count += 1
    return count
