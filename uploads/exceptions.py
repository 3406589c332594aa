"""Errors of the uploads services; each carries the HTTP status and a message for the member."""

from django.utils.translation import gettext_lazy as _


class UploadError(Exception):
    """An upload request that cannot be served; `message` is shown to the member as it is."""

    status = 400

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class UploadTooLarge(UploadError):
    status = 413


class UnsupportedType(UploadError):
    status = 415


class OffsetMismatch(UploadError):
    status = 409


class UploadBusy(UploadError):
    """Another request is writing to the same upload right now."""

    status = 423


class UploadExpired(UploadError):
    status = 410


class UploadNotFound(UploadError):
    status = 404


class InvalidFile(UploadError):
    """The content is of an allowed type but unusable (encrypted, malformed, too many pixels, a virus)."""

    status = 422


class StorageFailed(UploadError):
    """The bytes could not be written (disk full, read-only, no permission): nothing was kept, try again later.

    507 Insufficient Storage when the disk or quota is full, else 503; either way the client may retry.
    """

    def __init__(self, message, *, status: int):
        super().__init__(message)
        self.status = status


class FileUnavailable(UploadError):
    """A stored file cannot be read right now (disk away or unreadable, or it fails to decrypt)."""

    status = 503


class DocumentNotReady(FileUnavailable):
    """The file has not been scanned and disarmed yet (or was quarantined): nobody on staff may open it."""

    status = 409

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


class TransmitError(Exception):
    """The draft cannot be transmitted as it is; `message` says what to do."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message
