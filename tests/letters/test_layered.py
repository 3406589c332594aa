"""Tests for letters/layered.py: a campaign letter laid out as static layer + variable fields is the full letter."""

import dataclasses
import datetime
import io
import subprocess

import pytest
from pypdf import PdfReader

from letters.layered import render_campaign_letter, render_campaign_letters, static_layer
from letters.rendering import LetterRenderError
from tests.letters.factories import ADDRESS_FOUR_LINES, letter_content
from tests.letters.pdf import assert_address_in_window, text_runs


@pytest.fixture
def content():
    return letter_content(
        address_lines=ADDRESS_FOUR_LINES,
        purpose="intern: Kampagne K-000001",
        valid_until=datetime.date(2027, 1, 31),
        letter_date=datetime.date(2026, 12, 2),
        case_title="Familienversicherung 2027",
        kvnr="T000100007",
    )


def _full(content):
    layer = static_layer(template="standard", language=content.language, case_title=content.case_title)
    return layer.render_full(content)


def pdftotext(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return " ".join(result.stdout.decode().split())


def test_the_layered_letter_is_one_page_and_pdftotext_reads_pin_case_and_fields(content):
    letter = render_campaign_letter(content=content, template="standard")
    assert letter.method == "layered"
    assert len(PdfReader(io.BytesIO(letter.document)).pages) == 1
    text = pdftotext(letter.document)
    for expected in (
        "AB3D-EFGH-JKLM",
        "Ihr Anliegen: Familienversicherung 2027",
        "Guten Tag Erika Mustermann,",
        "T000100007",
        "B-00000042",
        "2. Dezember 2026",
        "31. Januar 2027",
        "Heidestraße 17",
        "Mit freundlichen Grüßen",
    ):
        assert expected in text
    assert "intern" not in text


def test_every_field_sits_exactly_where_the_full_render_puts_it(content):
    layered = {
        run.text.strip(): run
        for run in text_runs(render_campaign_letter(content=content, template="standard").document)
    }
    full = {run.text.strip(): run for run in text_runs(_full(content).pdf)}
    for text in ("AB3D-EFGH-JKLM", "Guten Tag Erika Mustermann,", "T000100007", "31. Januar 2027", "Heidestraße 17"):
        assert layered[text].x == pytest.approx(full[text].x, abs=0.05)
        assert layered[text].baseline == pytest.approx(full[text].baseline, abs=0.05)
        assert layered[text].size == pytest.approx(full[text].size, abs=0.01)


def test_the_address_lies_inside_the_din_5008_window(content):
    pdf = render_campaign_letter(content=content, template="standard").document
    assert_address_in_window(pdf=pdf, lines=content.address_lines)


def test_the_layered_letter_declares_pdf_a_2b(content):
    root = PdfReader(io.BytesIO(render_campaign_letter(content=content, template="standard").document)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="2"' in xmp
    assert 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in root


@pytest.mark.parametrize(
    "change",
    [
        {"full_name": "Maximiliane Alexandra Theodora Friederike Luise von und zu Hohenzollern-Sigmaringen-Hechingen"},
        {
            "address_lines": [
                "Erika Mustermann",
                "c/o Beispiel",
                "Hinterhaus",
                "3. Etage",
                "Straße der Deutsch-Französischen Freundschaft 117a",
                "51147 Köln",
            ]
        },
        {"kvnr": "T000100007" * 5},
        {"address_lines": ["A", "B", "C", "D", "E", "F", "G", "H"]},
    ],
)
def test_a_field_that_does_not_fit_its_slot_falls_back_to_the_full_render(content, change):
    letter = render_campaign_letter(content=dataclasses.replace(content, **change), template="standard")
    assert letter.method == "full"
    text = pdftotext(letter.document)
    assert "AB3D-EFGH-JKLM" in text
    assert len(PdfReader(io.BytesIO(letter.document)).pages) == 1


def test_english_letter_uses_the_english_static_layer(content):
    letter = render_campaign_letter(content=dataclasses.replace(content, language="en"), template="standard")
    text = pdftotext(letter.document)
    assert "Your case: Familienversicherung 2027" in text
    assert "2 December 2026" in text


def test_a_render_error_names_no_content(content, monkeypatch):
    from letters import layered

    def broken(self, contents):
        raise ValueError(f"cannot set {contents[0].pin_display}")

    monkeypatch.setattr(layered.StaticLayer, "render_many", broken)
    with pytest.raises(LetterRenderError) as caught:
        render_campaign_letter(content=content, template="standard")
    assert "AB3D" not in str(caught.value)


def test_letters_rendered_together_each_carry_only_their_own_pin_and_address(content):
    pins = ["AB3D-EFGH-JK22", "CD4E-FGHJ-KL33", "EF5G-HJKL-MN44", "GH6J-KLMN-PQ55"]
    contents = [
        dataclasses.replace(
            content, pin_display=pins[0], full_name="Anna Eins", address_lines=["Anna Eins", "A 1", "1 A"]
        ),
        dataclasses.replace(content, pin_display=pins[1], language="en", full_name="Ben Zwei"),
        dataclasses.replace(content, pin_display=pins[2], full_name="C " * 60),
        dataclasses.replace(content, pin_display=pins[3], full_name="Dora Vier"),
    ]
    letters = render_campaign_letters(contents=contents, template="standard")
    assert [letter.method for letter in letters] == ["layered", "layered", "full", "layered"]
    for index, letter in enumerate(letters):
        assert len(PdfReader(io.BytesIO(letter.document)).pages) == 1
        text = pdftotext(letter.document)
        assert [pin for pin in pins if pin in text] == [pins[index]]
    assert "Anna Eins" in pdftotext(letters[0].document)
    assert "Anna Eins" not in pdftotext(letters[3].document)
    assert "Your case" in pdftotext(letters[1].document)
