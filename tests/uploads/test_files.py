"""Tests of uploads.files: safe names, type detection and the optional clamd scan."""

import io

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


def test_virus_scan_reports_infected_when_clamd_finds_something(clamd):
    received = clamd(b"stream: Eicar-Signature FOUND\0")
    assert files.virus_scan(io.BytesIO(b"X5O!P%@AP")) is False
    assert received.startswith(b"zINSTREAM\0")


def test_virus_scan_reports_clean_when_clamd_says_ok(clamd):
    clamd(b"stream: OK\0")
    assert files.virus_scan(io.BytesIO(b"harmless")) is True


def test_virus_scan_without_clamd_setting_leaves_file_unscanned(settings):
    settings.CLAMD_SOCKET = ""
    assert files.virus_scan(io.BytesIO(b"harmless")) is None


def test_virus_scan_with_unreachable_clamd_leaves_file_unscanned(settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "missing.sock")
    assert files.virus_scan(io.BytesIO(b"harmless")) is None
