"""Tests for letters/rendering.py: the letter's geometry (DIN 5008 form B), its content, fonts and PDF/A."""

import dataclasses
import datetime
import io

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from letters import rendering
from letters.rendering import LetterRenderError, render_letter
from tests.letters.factories import ADDRESS_FOUR_LINES, letter_content
from tests.letters.pdf import NOTES_ZONE_BOTTOM, WINDOW, assert_address_in_window, pin_in, text_runs

A4_PT = (595.28, 841.89)


@pytest.fixture
def content():
    return letter_content(address_lines=ADDRESS_FOUR_LINES)


@pytest.fixture
def pdf(content):
    return render_letter(content=content).pdf


def test_letter_is_one_a4_page(content):
    rendered = render_letter(content=content)
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert rendered.pages == 1
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4_PT[0], abs=0.5)
    assert float(box.height) == pytest.approx(A4_PT[1], abs=0.5)


def test_a_letter_longer_than_one_page_is_refused(content):
    with pytest.raises(LetterRenderError, match="Seiten statt einer"):
        render_letter(content=dataclasses.replace(content, full_name="Sehr langer Name " * 300))


def test_english_letter_is_one_page_too(content):
    rendered = render_letter(content=dataclasses.replace(content, language="en"))
    assert rendered.pages == 1


def test_address_lies_inside_the_window_below_the_notes_zone(pdf, content):
    assert_address_in_window(pdf=pdf, lines=content.address_lines)


def test_address_is_set_between_10_and_12_pt(pdf, content):
    runs = {run.text.strip(): run for run in text_runs(pdf)}
    assert all(10 <= runs[line].size <= 12 for line in content.address_lines)


def test_address_font_is_regular_not_bold(pdf, content):
    reader = PdfReader(io.BytesIO(pdf))
    fonts_used: set[str] = set()

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip() in content.address_lines and font_dict:
            fonts_used.add(str(font_dict["/BaseFont"]))

    reader.pages[0].extract_text(visitor_text=visit)
    assert fonts_used
    assert not any("Bold" in name for name in fonts_used)


def test_return_line_lies_in_the_notes_zone(pdf, settings):
    run = next(run for run in text_runs(pdf) if run.text.startswith(settings.INSURER.short_name + " ·"))
    assert WINDOW["left"] <= run.x
    assert WINDOW["top"] < run.baseline <= NOTES_ZONE_BOTTOM


def test_pin_is_printed_grouped_in_a_large_monospace_face(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    found = {}

    def visit(text, cm, tm, font_dict, font_size):
        if "AB3D-EFGH-JKLM" in text and font_dict:
            found["font"] = str(font_dict["/BaseFont"])
            found["size"] = font_size * abs(cm[0])

    reader.pages[0].extract_text(visitor_text=visit)
    assert pin_in(pdf) == "AB3D-EFGH-JKLM"
    assert "Mono" in found["font"]
    assert found["size"] >= 18


def test_letter_names_validity_portal_hotline_and_checklist(pdf, settings):
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    flat = " ".join(text.split())
    assert "28. Januar 2027" in flat
    assert settings.PORTAL_PUBLIC_URL in flat
    assert settings.INSURER.hotline_phone in flat
    assert "Ist die Feststelltaste der Tastatur aktiviert?" in flat
    assert f"Wurde die PIN {settings.PIN_MAX_FAILED_ATTEMPTS}-mal falsch eingegeben?" in flat
    assert "Nur Sie sollten diese PIN kennen" in flat
    assert "B-00000042" in flat


def test_english_member_gets_an_english_letter(content):
    pdf = render_letter(content=dataclasses.replace(content, language="en")).pdf
    flat = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Your one-time PIN" in flat
    assert "28 January 2027" in flat
    assert "Ihre Einmal-PIN" not in flat


def test_fonts_are_embedded(pdf):
    reader = PdfReader(io.BytesIO(pdf))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert fonts
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = (
            font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            if "/DescendantFonts" in font
            else font["/FontDescriptor"]
        )
        descriptor = descriptor.get_object()
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font["/BaseFont"]


def test_letter_declares_pdf_a_2b(pdf):
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="2"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in root


def test_letter_user_agent_stylesheet_sets_the_letter_exactly_as_weasyprints_own(content):
    renderer = rendering.renderer()
    html = renderer.html(content)
    ours = renderer.document(html).write_pdf()
    full = HTML(string=html, url_fetcher=renderer.fetcher, base_url=renderer.font_dir.as_uri() + "/")
    theirs = full.render(stylesheets=[renderer.stylesheet], font_config=renderer.font_config).write_pdf()

    def layout(pdf):
        return [(run.text, round(run.x, 1), round(run.baseline, 1), run.size) for run in text_runs(pdf)]

    assert layout(ours) == layout(theirs)


def test_render_error_carries_neither_the_letter_text_nor_its_cause(content, monkeypatch):
    renderer = rendering.renderer()

    def broken(context):
        raise ValueError(f"cannot lay out {context['pin_display']}")

    monkeypatch.setattr(renderer.template, "render", broken)
    with pytest.raises(LetterRenderError) as caught:
        render_letter(content=content)
    assert "AB3D" not in str(caught.value)
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None


def test_letter_fetches_nothing_but_its_fonts():
    fetcher = rendering.renderer().fetcher
    with pytest.raises(ValueError):
        fetcher.fetch("http://example.org/tracker.png")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")


def test_the_internal_purpose_never_reaches_paper(content):
    pdf = render_letter(content=dataclasses.replace(content, purpose="Brief nicht angekommen")).pdf
    flat = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "Brief nicht angekommen" not in flat
    assert "Anlass" not in flat


@pytest.mark.parametrize(("language", "expected"), [("de", "2. Dezember 2026"), ("en", "2 December 2026")])
def test_dates_are_written_german_style_in_both_languages(content, language, expected):
    letter = dataclasses.replace(content, language=language, letter_date=datetime.date(2026, 12, 2))
    flat = " ".join(PdfReader(io.BytesIO(render_letter(content=letter).pdf)).pages[0].extract_text().split())
    assert expected in flat
