"""Errors of the uploads services; each carries the HTTP status and a message for the member."""

from django.utils.translation import gettext_lazy as _


class MemberError(Exception):
    """A request the member can put right; `message` (German source, translated) is shown to them as it is."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class UploadError(MemberError):
    """An upload request that cannot be served; `status` is the HTTP answer: 400 unless a subclass names its own,
    as in `class UploadBusy(UploadError, status=423)`."""

    status = 400

    def __init_subclass__(cls, *, status: int | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status


class UploadTooLarge(UploadError, status=413):
    """The file, the draft's files together, or the bytes sent exceed what is allowed or was announced."""


class UnsupportedType(UploadError, status=415):
    """By content the file is no PDF or photo, or the request's content type is not the tus one."""


class OffsetMismatch(UploadError, status=409):
    """The part does not start where the upload stands; the client resumes from the current offset."""


class UploadBusy(UploadError, status=423):
    """Another request is writing to the same upload right now."""


class UploadExpired(UploadError, status=410):
    """The unfinished upload expired (or was begun before segments) and was deleted; start it again."""


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


class DocumentNotReady(FileUnavailable, status=409):
    """The file has not been scanned and disarmed yet (or was quarantined): nobody on staff may open it."""

    def __init__(self, message=None):
        super().__init__(
            message
            or _(
                "Dieses Dokument wird noch auf Schadsoftware geprüft und entschärft oder wurde zurückgehalten; "
                "es kann erst danach geöffnet werden."
            )
        )


def document_ensure_deliverable(document) -> None:
    """Raise DocumentNotReady unless the document was scanned and disarmed (every staff path calls this)."""
    if not document.is_deliverable:
        raise DocumentNotReady()


class DraftConflict(Exception):
    """The draft was saved elsewhere (another tab) since this writer loaded it."""

    def __init__(self, current_version: int):
        super().__init__(f"draft is at version {current_version}")
        self.current_version = current_version
        self.message = _(
            "Ihr Entwurf wurde inzwischen in einem anderen Fenster geändert. Bitte laden Sie die Seite neu; "
            "Ihre letzte Eingabe in diesem Fenster wurde nicht gespeichert."
        )


class TransmitError(MemberError):
    """The draft cannot be transmitted as it is; `message` says what to do."""
