"""Storage helpers the upload services share: the two storages, a failure as the member's message, quiet removal."""

import errno
import logging

from django.core.files.storage import storages
from django.utils.translation import gettext_lazy as _

from core import storage as stored_files

from ..constants import UploadStatus
from ..exceptions import StorageFailed
from ..models import Upload

logger = logging.getLogger(__name__)


def staging_storage():
    """Plain parts of uploads begun before segments existed (old staging)."""
    return storages["staging"]


def private_storage():
    """The encrypted documents: segments, disarmed copies, transmitted files."""
    return storages["default"]


def errno_name(error: OSError) -> str:
    """The errno's symbolic name for a log line (never a path or a file's content)."""
    return errno.errorcode.get(error.errno or 0, "unknown")


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


def delete_quietly(storage, name: str, *, upload: Upload) -> None:
    """Remove a file after a failure; on a read-only disk (or S3 away) that fails too, and the purge tries later."""
    try:
        stored_files.delete(storage, name)
    except OSError as error:
        logger.warning("upload %s: removing a stored file failed with %s", upload.public_id, errno_name(error))


def upload_parts_delete(*, upload: Upload, keep: frozenset[str] = frozenset()) -> None:
    """Delete the upload's stored segments except those named in `keep`, and any plain part of old staging."""
    try:
        if upload.storage_name.endswith("/"):
            for name, _modified in list(stored_files.list_files(private_storage(), upload.storage_name)):
                if name not in keep:
                    stored_files.delete(private_storage(), name)
        if upload.staging_name:
            for name, _modified in list(stored_files.list_files(staging_storage(), upload.staging_name)):
                stored_files.delete(staging_storage(), name)
    except OSError as error:
        # A read-only disk or the object store away: the orphan purge (beat) removes them later.
        logger.warning("upload %s: removing stored parts failed with %s", upload.public_id, errno_name(error))


def upload_files_discard(*, upload: Upload) -> None:
    """Delete everything stored for the upload (its row is gone or going); failures are left to the purge."""
    upload_parts_delete(upload=upload)
    if upload.storage_name and not upload.storage_name.endswith("/"):
        delete_quietly(private_storage(), upload.storage_name, upload=upload)


def upload_discard_unfinished(*, upload: Upload, **conditions) -> bool:
    """Delete the upload and its files if it is still in progress (and matches `conditions`); True if it was."""
    deleted, _detail = Upload.objects.filter(pk=upload.pk, status=UploadStatus.IN_PROGRESS, **conditions).delete()
    if deleted:
        upload_files_discard(upload=upload)
    return bool(deleted)
