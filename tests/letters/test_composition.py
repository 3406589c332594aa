"""Campaign letters that weigh what they say (letters/composition.py): per letter only its variable page is
stored, the shared layer once; the composed letter is the same page, pixel for pixel; a print batch carries the
shared objects once and pdftotext still finds every PIN in it."""

import dataclasses
import datetime
import io
import subprocess
import tempfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageChops

from core.crypto import encrypt_chunks
from letters.composition import SHARED_FONT, SharedLayer, compose
from letters.layered import render_campaign_letters, static_layer
from letters.pdfmerge import PdfConcatenator
from tests.letters.factories import letter_content

# The goal: at most 10 KB per letter, stored and in the print shop's merged PDF.
GOAL_BYTES = 10 * 1024
BATCH = 200


def campaign_contents(count: int):
    base = letter_content(
        valid_until=datetime.date(2027, 1, 31),
        letter_date=datetime.date(2026, 12, 2),
        case_title="Familienversicherung 2027",
    )
    return [
        dataclasses.replace(
            base,
            reference=f"B-{n:08d}",
            language="de" if n % 5 else "en",
            full_name=f"Jörg Müller-Łukasiewicz {n}",
            address_lines=[f"Jörg Müller-Łukasiewicz {n}", f"Heidestraße {n % 200 + 1}", "51147 Köln"],
            kvnr=f"T{n:09d}",
            pin_display=f"AB{n % 8 + 2}D-EFGH-{n % 10000:04d}".replace("0", "Z").replace("1", "Y"),
        )
        for n in range(count)
    ]


def pixels(pdf: bytes, page: int = 1) -> Image.Image:
    """The page as pdftoppm renders it at 150 dpi."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png", "-singlefile", "-", f"{folder}/page"],
            input=pdf,
            check=True,
            capture_output=True,
        )
        return Image.open(Path(folder) / "page.png").convert("RGB")


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def encrypted_size(data: bytes) -> int:
    return sum(len(piece) for piece in encrypt_chunks([data], aad=b"letter:1"))


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_composed_letter_has_the_same_pixels_as_the_letter_with_everything_embedded(language):
    """Reference: the full render of the same template (WeasyPrint, every font embedded, no layers). At 150 dpi
    not one pixel differs: the shared fonts are the same glyphs with the same widths."""
    content = dataclasses.replace(campaign_contents(2)[1], language=language)
    letter = render_campaign_letters(contents=[content], template="standard")[0]
    assert letter.method == "layered" and letter.layer is not None
    layer = static_layer(template="standard", language=language, case_title=content.case_title)
    full = layer.render_full(content)
    difference = ImageChops.difference(pixels(letter.document), pixels(full.pdf))
    assert difference.getbbox() is None
    # The stored part alone renders the fields' text only through the shared fonts: it carries none of its own.
    with pikepdf.open(io.BytesIO(letter.pdf)) as part:
        fonts = part.pages[0].Resources.Font
        assert fonts and all(SHARED_FONT in fonts[key] for key in fonts)
        assert "/XObject" not in part.pages[0].Resources or not part.pages[0].Resources.XObject


def test_a_name_beyond_the_shared_repertoire_keeps_its_own_font_and_reads_the_same():
    content = dataclasses.replace(campaign_contents(1)[0], full_name="Ἀλέξανδρος Παπαδόπουλος")
    letter = render_campaign_letters(contents=[content], template="standard")[0]
    with pikepdf.open(io.BytesIO(letter.pdf)) as part:
        fonts = part.pages[0].Resources.Font
        assert any(SHARED_FONT not in fonts[key] for key in fonts)  # the Greek glyphs came along
    assert "Ἀλέξανδρος Παπαδόπουλος," in pdftotext(letter.document)
    full = static_layer(template="standard", language="en", case_title=content.case_title).render_full(content)
    assert ImageChops.difference(pixels(letter.document), pixels(full.pdf)).getbbox() is None


def test_a_batch_of_200_letters_weighs_at_most_10_kb_a_letter_stored_and_merged_with_every_pin_readable():
    contents = campaign_contents(BATCH)
    letters = []
    for start in range(0, BATCH, 10):
        letters += render_campaign_letters(contents=contents[start : start + 10], template="standard")
    assert all(letter.method == "layered" for letter in letters)
    layers = {letter.layer.digest: letter.layer for letter in letters}
    assert len(layers) == 2  # one per language: the German and the English static page

    stored = sum(encrypted_size(letter.pdf) for letter in letters) + sum(
        encrypted_size(layer.pdf) for layer in layers.values()
    )
    assert stored / BATCH <= GOAL_BYTES, f"{stored / BATCH:.0f} bytes stored per letter"

    out = io.BytesIO()
    merged = PdfConcatenator(out)
    for letter in letters:
        merged.append(io.BytesIO(letter.document))
    merged.close()
    assert out.tell() / BATCH <= GOAL_BYTES, f"{out.tell() / BATCH:.0f} bytes per letter in the merged PDF"
    # Without sharing, each letter is complete on its own (about 40 KB then, 100 KB with the shared fonts).
    assert len(letters[0].document) > 4 * GOAL_BYTES

    text = pdftotext(out.getvalue())
    pages = text.split("\f")
    assert len([page for page in pages if page.strip()]) == BATCH
    for page, content in zip(pages, contents, strict=False):
        assert content.pin_display in page and content.reference in page
    # A page of the merged PDF, whose static page and fonts an earlier letter wrote, is that letter's page.
    for number in (1, 137):
        merged_page = pixels(out.getvalue(), page=number)
        assert ImageChops.difference(merged_page, pixels(letters[number - 1].document)).getbbox() is None


def test_composing_is_deterministic_and_a_wrong_layer_is_not_a_letter():
    letter = render_campaign_letters(contents=campaign_contents(1), template="standard")[0]
    assert letter.document == letter.document
    other = SharedLayer.of(b"%PDF-1.7 not a layer")
    with pytest.raises(pikepdf.PdfError):
        compose(variable=letter.pdf, layer=other)
