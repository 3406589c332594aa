"""The receipt PDF a member gets after transmission, rendered with WeasyPrint as a tagged PDF/UA-1 document."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Draft, Submission, SubmissionDocument

PDF_VARIANT = "pdf/ua-1"  # tagged: headings, tables and reading order reach a screen reader


def _contact_rows(submission: Submission) -> list[tuple[str, str]]:
    """The contact changes with the labels the member saw on the form."""
    return [
        (str(Draft._meta.get_field(name).verbose_name), value) for name, value in submission.contact_changes.items()
    ]


def _hash_lines(document: SubmissionDocument) -> list[tuple[str, str]]:
    """The checksums of a file: of what the member sent and, where the portal keeps another form, of that."""
    lines = [("sent", document.sha256)]
    stored = getattr(document, "stored_sha256", "") or getattr(document, "sha256_stored", "")
    if stored and stored != document.sha256:
        lines.append(("stored", stored))
    return lines


def receipt_pdf(*, submission: Submission) -> bytes:
    """Who, what (fields, contact changes, files), when, the reference, what happens next, the insurer's contact;
    the checksums on an annex, each on one line."""
    # WeasyPrint is heavy to import; only this rare page needs it.
    from weasyprint import HTML

    documents = list(submission.documents.all())
    html = render_to_string(
        "uploads/receipt_pdf.html",
        {
            "submission": submission,
            "member": submission.member,
            "contact_changes": _contact_rows(submission),
            "documents": [
                {"number": index, "document": document, "hashes": _hash_lines(document)}
                for index, document in enumerate(documents, start=1)
            ],
            "transmitted_at": timezone.localtime(submission.transmitted_at),
            "INSURER_NAME": settings.INSURER_NAME,
            "INSURER_POSTAL_ADDRESS": settings.INSURER_POSTAL_ADDRESS,
            "HOTLINE_PHONE": settings.HOTLINE_PHONE,
        },
    )
    return HTML(string=html).write_pdf(pdf_variant=PDF_VARIANT)
