"""Tests for letters/pdfmerge.py: the streaming concatenation of letter PDFs into one print file."""

import dataclasses
import io

import pytest
from pypdf import PdfReader

from letters.pdfmerge import PdfConcatenator
from letters.rendering import render_letter
from tests.letters.factories import letter_content


@pytest.fixture(scope="module")
def letters():
    base = letter_content(reference="B-00000001", purpose="Neue PIN")
    return [
        render_letter(content=dataclasses.replace(base, reference=f"B-0000000{n}", language=language)).pdf
        for n, language in enumerate(["de", "en", "de"], start=1)
    ]


def concatenate(pdfs: list[bytes]) -> tuple[bytes, list[int]]:
    out = io.BytesIO()
    merged = PdfConcatenator(out)
    counts = [merged.append(io.BytesIO(pdf)) for pdf in pdfs]
    merged.close()
    return out.getvalue(), counts


def test_pages_keep_the_order_they_were_appended_in(letters):
    merged, counts = concatenate(letters)
    reader = PdfReader(io.BytesIO(merged), strict=True)
    assert counts == [1, 1, 1]
    texts = [page.extract_text() for page in reader.pages]
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        assert f"B-0000000{number}" in text
    assert "Your one-time PIN" in texts[1]


def test_each_page_keeps_its_own_embedded_fonts_and_a4_size(letters):
    merged, _ = concatenate(letters)
    for page in PdfReader(io.BytesIO(merged), strict=True).pages:
        assert round(float(page.mediabox.width)) == 595
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()["/DescendantFonts"][0].get_object()
            assert "/FontFile2" in font["/FontDescriptor"].get_object()


def test_nothing_appended_gives_a_valid_empty_file():
    merged, _ = concatenate([])
    assert len(PdfReader(io.BytesIO(merged), strict=True).pages) == 0
