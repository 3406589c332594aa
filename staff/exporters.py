"""Exporting a submission to the insurer's downstream systems, behind a small interface chosen by a setting.

SUBMISSION_EXPORTER names the class. ZipExporter builds a ZIP of the documents plus `submission.json` and
either hands it to the case worker as a download or writes it to the storage SUBMISSION_EXPORT_STORAGE names;
a document management system's API or an S3 bucket is another subclass of SubmissionExporter.
"""

import io
import json
import tempfile
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.utils import timezone
from django.utils.text import get_valid_filename

from core.streams import SPOOL_BYTES
from uploads.constants import SCAN_REFUSED
from uploads.models import Submission, SubmissionDocument
from uploads.selectors import submission_documents
from uploads.services import document_open


@dataclass(frozen=True)
class ExportResult:
    """Where the export went (`target`, recorded in the audit log); a `stream` when it is a download."""

    target: str
    filename: str = ""
    content_type: str = ""
    stream: Iterator[bytes] | None = field(default=None, repr=False)


class SubmissionExporter(ABC):
    """Sends one transmitted submission somewhere. It reads the submission and never changes it.

    staff.services.submission_export calls it only once every document is scanned and disarmed
    (uploads.services.submission_ensure_deliverable); refused and quarantined documents are never exported.
    """

    @abstractmethod
    def export(self, *, submission: Submission) -> ExportResult: ...


def _document_filename(index: int, document: SubmissionDocument) -> str:
    # Members choose file names: no paths, no odd characters, and a number so two "scan.pdf" never collide.
    return f"{index:02d}-{get_valid_filename(document.name) or 'dokument'}"


def submission_description(*, submission: Submission) -> dict:
    """The submission as plain data for downstream systems (the JSON beside the files)."""
    documents = submission_documents(submission=submission)
    return {
        "reference": submission.reference,
        "transmitted_at": submission.transmitted_at.isoformat(),
        "reason": {"code": submission.reason.code, "label": submission.reason.label_de},
        "status": submission.status,
        "status_note": submission.status_note,
        "member": {
            "kvnr": submission.member.kvnr,
            "first_name": submission.member.first_name,
            "last_name": submission.member.last_name,
        },
        "message": submission.message,
        "contact_changes": submission.contact_changes,
        "documents": [
            {
                "file": _document_filename(index, document),
                "name": document.name,
                "mime_type": document.mime_type,
                "size": document.size,
                "sha256": document.sha256,
                "sent_sha256": document.sent_sha256,
                "scan_status": document.scan_status,
            }
            for index, document in enumerate(documents, start=1)
        ],
        "exported_at": timezone.now().isoformat(),
    }


class _Sink(io.RawIOBase):
    """An unseekable file zipfile writes to; what it wrote is taken out piece by piece."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


class ZipExporter(SubmissionExporter):
    """A ZIP of the decrypted documents and submission.json, built while it is sent: no plaintext on disk."""

    def zip_stream(self, *, submission: Submission) -> Iterator[bytes]:
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            description = submission_description(submission=submission)
            documents = submission_documents(submission=submission)
            for index, document in enumerate(documents, start=1):
                if document.scan_status in SCAN_REFUSED:
                    continue  # quarantined or refused: listed in submission.json, never exported
                with archive.open(_document_filename(index, document), "w", force_zip64=True) as entry:
                    for chunk in document_open(document=document):
                        entry.write(chunk)
                        yield sink.take()
            archive.writestr("submission.json", json.dumps(description, ensure_ascii=False, indent=2))
        yield sink.take()

    def export(self, *, submission: Submission) -> ExportResult:
        filename = f"{submission.reference}.zip"
        alias = settings.SUBMISSION_EXPORT_STORAGE
        if not alias:
            return ExportResult(
                target="download",
                filename=filename,
                content_type="application/zip",
                stream=self.zip_stream(submission=submission),
            )
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            for piece in self.zip_stream(submission=submission):
                spool.write(piece)
            spool.seek(0)
            saved = storages[alias].save(f"exports/{filename}", File(spool, name=filename))
        return ExportResult(target=f"{alias}:{saved}", filename=filename)
