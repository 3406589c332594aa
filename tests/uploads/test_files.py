"""Tests of uploads.files: safe names and type detection (scanning and disarm: tests/scanning, test_screening)."""

import pytest

from uploads import files
from uploads.exceptions import UnsupportedType

from .factories import pdf_bytes


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\erika\\Befund.pdf", "Befund.pdf"),
        ("Re\u202egnp.pdf", "Regnp.pdf"),
        ("  .hidden.pdf ", "hidden.pdf"),
        ('a<b>c:"d|e?f*.pdf', "a_b_c__d_e_f_.pdf"),
        ("", "Dokument"),
        ("\x00\x01", "Dokument"),
    ],
)
def test_name_sanitize_removes_paths_controls_and_reserved_characters(raw, clean):
    assert files.name_sanitize(raw) == clean


def test_type_detect_ignores_the_declared_extension_and_refuses_a_mismatch():
    with pytest.raises(UnsupportedType):
        files.type_detect(head=pdf_bytes()[:4096], name="foto.png")


def test_type_detect_accepts_pdf_without_extension():
    assert files.type_detect(head=pdf_bytes()[:4096], name="Scan vom Montag") == "application/pdf"
