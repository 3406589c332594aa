"""Opening stored files: a member's complete upload, and a transmitted document for views that checked permission."""

import logging
from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.crypto import DecryptionError, open_decrypted

from ..exceptions import FileUnavailable
from ..models import SubmissionDocument, Upload
from ._segments import segments_open
from ._storage import errno_name, private_storage

logger = logging.getLogger(__name__)


def _open_stored(*, name: str, aad: bytes, what: str, segments: list[dict] | None = None) -> Iterator[bytes]:
    """open_decrypted, with a message instead of an error when the file cannot be read or decrypted.

    A document is its ordered encrypted segments; one stored before segments existed is a single file.
    """
    try:
        if segments:
            return segments_open(storage_name=name, segments=segments, aad=aad)
        return open_decrypted(storage=private_storage(), name=name, aad=aad)
    except OSError as error:
        logger.warning("%s: reading the stored file failed with %s", what, errno_name(error))
    except DecryptionError:
        # A wrong or missing key, or an altered file: an operator must look, so this is an error, not a warning.
        logger.error("%s: the stored file cannot be decrypted", what)
    raise FileUnavailable(
        _(
            "Die Datei kann gerade nicht geöffnet werden. Bitte versuchen Sie es später noch einmal. Wenn es dabei "
            "bleibt, rufen Sie bitte unsere Hotline %(phone)s an."
        )
        % {"phone": settings.INSURER.hotline_phone}
    )


def upload_open(*, upload: Upload) -> Iterator[bytes]:
    """The decrypted content of a complete upload, streamed; FileUnavailable (503) when it cannot be read."""
    return _open_stored(
        name=upload.storage_name, aad=upload.aad, what=f"upload {upload.public_id}", segments=upload.segments
    )


def document_open(*, document: SubmissionDocument) -> Iterator[bytes]:
    """The decrypted content of a transmitted document, streamed; only for views that checked permission.

    Raises FileUnavailable (503) when it cannot be read.
    """
    return _open_stored(
        name=document.storage_name,
        aad=document.aad,
        what=f"document {document.public_id}",
        segments=document.segments,
    )
