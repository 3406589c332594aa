"""The receipt PDF: who, what, when, the reference as one copyable word, what happens next, the insurer's contact,
tagged (PDF/UA-1), and each checksum on one line of the annex."""

import io
import subprocess

import pytest
from django.conf import settings
from django.utils import timezone
from pypdf import PdfReader

from uploads.models import Submission, SubmissionDocument, SubmissionReason
from uploads.receipt import receipt_pdf

pytestmark = pytest.mark.django_db

HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture
def submission(member):
    submission = Submission.objects.create(
        member=member,
        reference="EP-7K4M-Q2XH",
        draft_public_id="6f1c7a1e-6b7e-4c1b-9d1e-3a8f7c1b2d3e",
        reason=SubmissionReason.objects.get(code="form"),
        message="Anbei das Formular.",
        contact_changes={"phone": "0221 1234567", "town": "Köln"},
        transmitted_at=timezone.now(),
        receipt_available_until=timezone.now(),
    )
    SubmissionDocument.objects.create(
        public_id="0a6c3c5e-1d8b-4a57-8f5e-4b8e5a1f9c11",
        submission=submission,
        name="Bescheinigung_des_Arbeitgebers_ueber_das_Einkommen_2026.pdf",
        mime_type="application/pdf",
        size=123_456,
        sha256=HASH,
        storage_name="x",
    )
    return submission


def text_of(pdf: bytes, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_receipt_says_who_what_when_and_what_happens_next(submission, member):
    text = text_of(receipt_pdf(submission=submission))
    assert "EP-7K4M-Q2XH" in text  # one word, not letter-spaced
    for expected in (member.full_name, member.kvnr, "Anbei das Formular.", "0221 1234567", "Köln"):
        assert expected in text
    assert "Bescheinigung_des_Arbeitgebers" in text
    assert "Wie es weitergeht" in text
    assert settings.INSURER.hotline_phone in text
    assert settings.INSURER.postal_address[0] in text


def test_each_checksum_sits_whole_on_one_line(submission):
    lines = text_of(receipt_pdf(submission=submission), "-layout").splitlines()
    assert any(HASH in line for line in lines)


def test_receipt_is_a_tagged_pdf_ua_document(submission):
    pdf = receipt_pdf(submission=submission)
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "de"
    assert root["/Metadata"].get_object().get_data().count(b"pdfuaid:part") == 1


def test_receipt_pages_render_for_a_look(submission, tmp_path):
    """Render the pages as PNG (pdftoppm) into var/screenshots/receipt/ to look at; two pages: body and annex."""
    out = settings.BASE_DIR / "var" / "screenshots" / "receipt"
    out.mkdir(parents=True, exist_ok=True)
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(receipt_pdf(submission=submission))
    subprocess.run(["pdftoppm", "-r", "70", "-png", str(pdf), str(out / "receipt")], check=True)
    assert len(list(out.glob("receipt-*.png"))) == 2
