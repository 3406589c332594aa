"""What the upload services share about storage: a failure as the member's message, removing an unfinished upload."""

import errno
import logging

from django.utils.translation import gettext_lazy as _

from core.storage import errno_name

from ..constants import UploadStatus
from ..exceptions import StorageFailed
from ..models import Upload

logger = logging.getLogger(__name__)


def storage_failed(error: OSError, *, upload: Upload, step: str) -> StorageFailed:
    """The member's message for a storage failure; the log names the errno, never a path's or file's content."""
    logger.warning("upload %s: %s failed with %s", upload.public_id, step, errno_name(error))
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    return StorageFailed(
        _(
            "Die Datei konnte gerade nicht gespeichert werden. Bitte versuchen Sie es in einigen Minuten noch "
            "einmal. Ihre übrigen Angaben bleiben erhalten."
        ),
        status=507 if full else 503,
    )


def upload_discard_unfinished(*, upload: Upload, **conditions) -> bool:
    """Delete the upload and its files if it is still in progress (and matches `conditions`); True if it was.

    A HEAD asks whether its upload expired; almost always it did not. A read answers that without a write
    transaction (its lock and commit); the DELETE runs, and decides again, only for a row that matched. (A PATCH
    answers it from the row it locks anyway: uploads.services.receiving.upload_append.)"""
    matching = Upload.objects.filter(pk=upload.pk, status=UploadStatus.IN_PROGRESS, **conditions)
    if not matching.exists():
        return False
    deleted, _detail = matching.delete()
    if deleted:
        upload.discard()
    return bool(deleted)
