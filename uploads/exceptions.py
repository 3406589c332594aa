"""Errors of the uploads services; each carries a message to show as it is and the HTTP status to answer.

RefusalError                 message and status (400 unless a subclass names its own)
├── UploadError              the member's request about their files: sending one, reading it back
│   ├── UploadTooLarge 413 (FileTooLarge), UnsupportedType 415, OffsetMismatch 409, UploadBusy 423,
│   │   UploadExpired 410, UploadNotFound 404, InvalidFile 422, StorageFailed 507/503
│   └── FileUnavailable 503  a stored file cannot be read right now (members' files, staff's documents)
├── DocumentNotReady 409     staff: the document is not scanned and disarmed (yet)
│   └── DocumentsDeleted 410 its retention ended: the submission's documents are deleted
└── TransmitError 400        the draft cannot go as it is
DraftConflict                another tab saved the draft in between (answered with its version)
"""

import datetime

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _


class RefusalError(Exception):
    """A request refused with a reason: `message` (German source, translated) is shown as it is; `status` is the
    HTTP answer, 400 unless a subclass names its own, as in `class UploadBusy(UploadError, status=423)`."""

    status = 400

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message

    def __init_subclass__(cls, *, status: int | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status


class UploadError(RefusalError):
    """A member's request about their files (sending one, reading it back) that cannot be served."""


class UploadTooLarge(UploadError, status=413):
    """The file, the draft's files together, or the bytes sent exceed what is allowed or was announced."""


class FileTooLarge(UploadTooLarge):
    """A file over UPLOAD_MAX_FILE_SIZE; the message says the limit in MB."""

    def __init__(self):
        super().__init__(
            _("Die Datei ist zu groß. Erlaubt sind höchstens %(max)s MB je Datei.")
            % {"max": settings.UPLOAD_MAX_FILE_SIZE // 2**20}
        )


class UnsupportedType(UploadError, status=415):
    """By content the file is no PDF or photo, or the request's content type is not the tus one."""


class OffsetMismatch(UploadError, status=409):
    """The part does not start where the upload stands; the client resumes from the current offset."""


class UploadBusy(UploadError, status=423):
    """Another request is writing to the same upload right now."""


class UploadExpired(UploadError, status=410):
    """The unfinished upload expired and was deleted; start it again."""


class UploadNotFound(UploadError, status=404):
    """No such upload of this member's (or no draft any more)."""


class InvalidFile(UploadError, status=422):
    """The content is of an allowed type but unusable (encrypted, malformed, too many pixels, a virus)."""


class StorageFailed(UploadError):
    """The bytes could not be written (disk full, read-only, no permission): nothing was kept, try again later.

    507 Insufficient Storage when the disk or quota is full, else 503; either way the client may retry.
    """

    def __init__(self, message, *, status: int):
        super().__init__(message)
        self.status = status


class FileUnavailable(UploadError, status=503):
    """A stored file cannot be read right now (disk away or unreadable, or it fails to decrypt)."""


class DocumentNotReady(RefusalError, status=409):
    """The document has not been scanned and disarmed (yet), or was refused: nobody on staff may open it."""

    def __init__(self, message=None):
        super().__init__(
            message
            or _(
                "Dieses Dokument wird noch auf Schadsoftware geprüft und entschärft oder wurde zurückgehalten; "
                "es kann erst danach geöffnet werden."
            )
        )


class DocumentsDeleted(DocumentNotReady, status=410):
    """The submission's retention ended: its documents are deleted, only their names, sizes and hashes remain."""

    def __init__(self, deleted_at: datetime.datetime):
        date = formats.date_format(timezone.localtime(deleted_at), "DATE_FORMAT")
        super().__init__(
            _("Die Dokumente dieses Vorgangs wurden am %(date)s gelöscht (Aufbewahrungsfrist abgelaufen).")
            % {"date": date}
        )


class DraftConflict(Exception):
    """The draft was saved elsewhere (another tab) since this writer loaded it."""

    def __init__(self, current_version: int):
        super().__init__(f"draft is at version {current_version}")
        self.current_version = current_version
        self.message = _(
            "Ihr Entwurf wurde inzwischen in einem anderen Fenster geändert. Bitte laden Sie die Seite neu; "
            "Ihre letzte Eingabe in diesem Fenster wurde nicht gespeichert."
        )


class TransmitError(RefusalError):
    """The draft cannot be transmitted as it is; `message` says what to do."""
