"""The receipt PDF a member gets after transmission, rendered with WeasyPrint as a tagged PDF/UA-1 document."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core.branding import LOGO_DATA_PREFIXES, data_uri

from .models import Draft, Submission, SubmissionDocument

PDF_VARIANT = "pdf/ua-1"  # tagged: headings, tables and reading order reach a screen reader
HASHES_EXPLAINED = _(
    "Warum zwei Prüfsummen? Wir entfernen vor der Bearbeitung alles aus Ihren Dateien, was Programme ausführen "
    "oder Daten über Sie verraten könnte (etwa Skripte in PDF-Dateien, Standortdaten in Fotos). Die erste "
    "Prüfsumme gehört zu der Datei, die Sie gesendet haben, die zweite zu der bereinigten Fassung, die wir "
    "aufbewahren. Text und Bildinhalt bleiben gleich."
)


def _contact_rows(submission: Submission) -> list[tuple[str, str]]:
    """The contact changes with the labels the member saw on the form."""
    return [
        (str(Draft._meta.get_field(name).verbose_name), value) for name, value in submission.contact_changes.items()
    ]


def _hash_lines(document: SubmissionDocument) -> list[tuple[str, str]]:
    """The checksums of a file: of what the member sent and of the disarmed copy the insurer keeps ("pending"
    while the worker has not checked it yet). A document made of photos: each page's as sent, then the PDF's."""
    pages = list(document.pages.all())
    if pages:
        lines = [(f"page:{page.number}", page.sent_sha256 or page.sha256) for page in pages]
        return [*lines, ("stored", document.sha256) if document.is_deliverable else ("pending", "")]
    sent = document.sent_sha256 or document.sha256
    if not document.is_deliverable:
        return [("sent", sent), ("pending", "")]
    if document.sha256 != sent:
        return [("sent", sent), ("stored", document.sha256)]
    return [("sent", sent)]


def receipt_pdf(*, submission: Submission) -> bytes:
    """Who, what (fields, contact changes, files), when, the reference, what happens next, the insurer's contact;
    the checksums on an annex, each on one line."""
    # WeasyPrint is heavy to import; only this rare page needs it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class InlineLogoOnly(URLFetcher):
        """The receipt fetches nothing but the insurer's logo, inlined as a data: address."""

        def fetch(self, url, headers=None):
            if not url.startswith(LOGO_DATA_PREFIXES):
                raise ValueError("the receipt fetches nothing")
            return super().fetch(url, headers)

    insurer = settings.INSURER
    documents = list(submission.documents.prefetch_related("pages"))
    html = render_to_string(
        "uploads/receipt_pdf.html",
        {
            "submission": submission,
            "member": submission.member,
            "contact_changes": _contact_rows(submission),
            "documents": [
                {
                    "number": index,
                    "document": document,
                    "pages": len(document.pages.all()),
                    "hashes": _hash_lines(document),
                }
                for index, document in enumerate(documents, start=1)
            ],
            "hashes_explained": str(HASHES_EXPLAINED),
            "transmitted_at": timezone.localtime(submission.transmitted_at),
            "insurer": insurer,
            "hotline_hours": insurer.hotline_hours(translation.get_language() or settings.LANGUAGE_CODE),
            # The logo inlined as a data: address: the receipt fetches nothing.
            "logo_uri": data_uri(insurer.logo, insurer.logo_type),
        },
    )
    return HTML(string=html, url_fetcher=InlineLogoOnly(allowed_protocols={"data"})).write_pdf(pdf_variant=PDF_VARIANT)
