"""Opening stored files (a member's complete upload; a transmitted document for views that checked permission),
and the rule that staff get a document only once it is scanned and disarmed."""

import logging
from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.crypto import DecryptionError
from core.storage import errno_name

from ..constants import SCAN_REFUSED
from ..exceptions import DocumentNotReady, DocumentsDeleted, FileUnavailable
from ..models import MemberFile, Submission, SubmissionDocument, Upload

logger = logging.getLogger(__name__)


def _file_open(file: MemberFile, *, what: str) -> Iterator[bytes]:
    """The file's content (MemberFile.open), with a message instead of an error when it cannot be read."""
    try:
        return file.open()
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
    return _file_open(upload, what=f"upload {upload.public_id}")


def document_open(*, document: SubmissionDocument) -> Iterator[bytes]:
    """The decrypted content of a transmitted document, streamed; only for views that checked permission.

    Raises FileUnavailable (503) when it cannot be read.
    """
    return _file_open(document, what=f"document {document.public_id}")


def document_ensure_deliverable(*, document: SubmissionDocument) -> None:
    """Staff get a document only once it is scanned and disarmed (ScanState.is_deliverable): raises
    DocumentNotReady (409) for one being checked, held, refused or quarantined, DocumentsDeleted (410) once the
    submission's retention ended."""
    deleted_at = document.submission.documents_deleted_at
    if deleted_at is not None:
        raise DocumentsDeleted(deleted_at)
    if not document.is_deliverable:
        raise DocumentNotReady()


def submission_ensure_deliverable(*, submission: Submission) -> None:
    """An export waits for every document: raises DocumentNotReady (409) while one is being checked or held.

    Refused and quarantined documents do not hold it up: no export hands them out (its description lists them
    with their status). Raises DocumentsDeleted (410) once the submission's retention ended.
    """
    if submission.documents_deleted_at is not None:
        raise DocumentsDeleted(submission.documents_deleted_at)
    for document in submission.documents.all():
        if document.scan_status not in SCAN_REFUSED:
            document_ensure_deliverable(document=document)
