"""Photographed pages become one PDF (scanning.assemble) in the sandbox's child: A4, upright, one page per photo,
in order, each turned as the member asked; a hostile page refuses the whole document, naming the page."""

import io
import subprocess
import tempfile

import pikepdf
import pytest
from PIL import Image

from scanning.assemble import A4, Page, PageRefused, page_box, pages_assemble
from scanning.sandbox import Limits, assemble_isolated

from .hostile import png_declaring, progressive_jpeg_declaring

MARKER = (220, 0, 0)
COLOURS = [(0, 0, 220), (0, 160, 0), (230, 160, 0)]


def photo(colour, *, size=(600, 800), fmt="JPEG") -> bytes:
    """A portrait "photo": white, a coloured band across its top telling which page it is, and a red marker
    square in its top-left corner."""
    image = Image.new("RGB", size, (255, 255, 255))
    width, height = size
    image.paste(colour, (0, 0, width, height // 5))
    image.paste(MARKER, (0, 0, width // 6, width // 6))
    out = io.BytesIO()
    image.save(out, fmt, quality=95)
    return out.getvalue()


def render(pdf: bytes, page: int) -> Image.Image:
    """The page as pixels through poppler's pdftoppm at 20 dpi."""
    png = subprocess.run(
        ["pdftoppm", "-r", "20", "-png", "-f", str(page), "-l", str(page), "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def near(pixel, colour, tolerance=60) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def corner_colours(image: Image.Image, picture: tuple[int, int]) -> dict[str, tuple]:
    """The colour a little inside each corner of the picture (placed as page_box says, rendered at 20 dpi)."""
    _page_w, _page_h, x, y, shown_w, shown_h = (value * 20 / 72 for value in page_box(*picture))
    top = image.height - (y + shown_h)  # PDF counts from the bottom, pixels from the top
    inset_x, inset_y = shown_w * 0.05, shown_h * 0.05
    left, right = x + inset_x, x + shown_w - inset_x
    upper, lower = top + inset_y, top + shown_h - inset_y
    return {
        "top-left": image.getpixel((int(left), int(upper))),
        "top-right": image.getpixel((int(right), int(upper))),
        "bottom-left": image.getpixel((int(left), int(lower))),
        "bottom-right": image.getpixel((int(right), int(lower))),
    }


def assemble(pages: list[tuple[bytes, int]], *, budget: int = 200 * 2**20) -> bytes:
    out = io.BytesIO()
    pages_assemble([Page(src=io.BytesIO(data), rotation=turn) for data, turn in pages], out, budget=budget)
    return out.getvalue()


def test_pages_keep_their_order_on_a4_one_per_photo():
    pdf = assemble([(photo(colour), 0) for colour in COLOURS])
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) == 3
        for page in document.pages:
            assert [float(v) for v in page.mediabox] == pytest.approx([0, 0, *A4], abs=0.01)
            assert int(page.obj.get("/Rotate", 0)) == 0
    for number, colour in enumerate(COLOURS, start=1):
        image = render(pdf, number)
        band = image.getpixel((image.width // 2, int(image.height * 0.1)))
        assert near(band, colour), (number, band)
        assert near(corner_colours(image, (600, 800))["top-left"], MARKER)


@pytest.mark.parametrize(
    ("turn", "marker_at", "landscape"),
    [(0, "top-left", False), (90, "top-right", True), (180, "bottom-right", False), (270, "bottom-left", True)],
)
def test_the_members_turn_is_applied_clockwise_and_the_page_stays_upright(turn, marker_at, landscape):
    pdf = assemble([(photo(COLOURS[0]), turn)])
    with pikepdf.open(io.BytesIO(pdf)) as document:
        page = document.pages[0]
        width, height = float(page.mediabox[2]), float(page.mediabox[3])
        assert (width > height) is landscape  # a turned portrait photo lies on a landscape A4 page
        assert sorted([width, height]) == pytest.approx(sorted(A4), abs=0.01)
        assert int(page.obj.get("/Rotate", 0)) == 0
    corners = corner_colours(render(pdf, 1), (800, 600) if landscape else (600, 800))
    assert near(corners[marker_at], MARKER), corners
    others = [name for name in corners if name != marker_at]
    assert not any(near(corners[name], MARKER) for name in others), corners


def test_page_box_centres_the_picture_within_the_margins():
    page_w, page_h, x, y, shown_w, shown_h = page_box(600, 800)
    assert (page_w, page_h) == A4
    assert x == pytest.approx(page_w - x - shown_w)
    assert y == pytest.approx(page_h - y - shown_h)
    assert min(x, y) >= 28


def test_an_unreadable_page_refuses_naming_it():
    with pytest.raises(PageRefused) as refused:
        assemble([(photo(COLOURS[0]), 0), (photo(COLOURS[1]), 0), (b"\xff\xd8 not a jpeg", 0)])
    assert refused.value.number == 3


def spooled(data: bytes):
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the child, closed by the test
    file.write(data)
    file.flush()
    return file


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(lambda: png_declaring(60_000, 60_000), id="pixel-flood-png"),
        pytest.param(lambda: progressive_jpeg_declaring(60_000, 60_000), id="progressive-jpeg-bomb"),
    ],
)
def test_a_hostile_page_in_the_sandbox_refuses_the_document_naming_the_page(hostile):
    pages = [spooled(photo(COLOURS[0])), spooled(photo(COLOURS[1])), spooled(hostile())]
    with tempfile.TemporaryFile() as out:
        outcome = assemble_isolated(pages=[(page, 0) for page in pages], out=out, limits=Limits())
    for page in pages:
        page.close()
    assert outcome.refused in {"image_too_large", "too_complex"}
    assert outcome.page == 3
    assert outcome.mime == ""


def test_the_sandbox_assembles_within_the_disarms_limits():
    pages = [spooled(photo(colour, size=(1500, 2000))) for colour in COLOURS]
    with tempfile.TemporaryFile() as out:
        outcome = assemble_isolated(pages=[(page, 90 * i) for i, page in enumerate(pages)], out=out, limits=Limits())
        pdf = out.read()
    assert outcome.refused == "" and outcome.mime == "application/pdf"
    assert 0 < outcome.peak_rss < Limits().memory
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) == 3


def test_a_page_beyond_the_image_budget_refuses_the_document():
    pages = [spooled(photo(COLOURS[0], size=(3000, 4000), fmt="PNG"))]
    limits = Limits(memory=48 * 2**20, image_budget=8 * 2**20)
    with tempfile.TemporaryFile() as out:
        outcome = assemble_isolated(pages=[(pages[0], 0)], out=out, limits=limits)
    assert outcome.refused in {"image_too_large", "too_complex"}
