"""The receipt PDF a member gets after transmission, rendered with WeasyPrint."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Submission, SubmissionDocument

HASHES_EXPLAINED = _(
    "Warum zwei Prüfsummen? Wir entfernen vor der Bearbeitung alles aus Ihren Dateien, was Programme ausführen "
    "oder Daten über Sie verraten könnte (etwa Skripte in PDF-Dateien, Standortdaten in Fotos). Die erste "
    "Prüfsumme gehört zu der Datei, die Sie gesendet haben, die zweite zu der bereinigten Fassung, die wir "
    "aufbewahren. Text und Bildinhalt bleiben gleich."
)


def receipt_files(*, documents: list[SubmissionDocument]) -> list[dict]:
    """Per file: name, size, SHA-256 as sent and as kept (None while it is still being checked)."""
    return [
        {
            "name": document.name,
            "size": document.size,
            "sent_sha256": document.sent_sha256 or document.sha256,
            "kept_sha256": document.sha256 if document.is_deliverable else None,
            "state": document.get_scan_status_display(),
        }
        for document in documents
    ]


def receipt_pdf(*, submission: Submission) -> bytes:
    """Date and time, reference, reason, and every file with size and the SHA-256 of what was sent and is kept."""
    # WeasyPrint is heavy to import; only this rare page needs it.
    from weasyprint import HTML

    html = render_to_string(
        "uploads/receipt_pdf.html",
        {
            "submission": submission,
            "documents": list(submission.documents.all()),
            "files": receipt_files(documents=list(submission.documents.all())),
            "hashes_explained": str(HASHES_EXPLAINED),
            "transmitted_at": timezone.localtime(submission.transmitted_at),
            "INSURER_NAME": settings.INSURER_NAME,
        },
    )
    return HTML(string=html).write_pdf()
