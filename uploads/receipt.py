"""The receipt PDF a member gets after transmission, rendered with WeasyPrint."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Submission


def receipt_pdf(*, submission: Submission) -> bytes:
    """Date and time, reference, reason, and every file with size and SHA-256."""
    # WeasyPrint is heavy to import; only this rare page needs it.
    from weasyprint import HTML

    html = render_to_string(
        "uploads/receipt_pdf.html",
        {
            "submission": submission,
            "documents": list(submission.documents.all()),
            "transmitted_at": timezone.localtime(submission.transmitted_at),
            "INSURER_NAME": settings.INSURER_NAME,
        },
    )
    return HTML(string=html).write_pdf()
