"""Rendering a document's pages for the viewer in a limited child (scanning/render.py): pages upright at the
viewer's width with their text, and hostile documents refused cleanly within the budget, never an error."""

import tempfile
from pathlib import Path

import pytest
from PIL import Image

from scanning.render import RenderLimits, RenderOutcome, render_isolated

from .hostile import flate_bomb_pdf, image_bomb_pdf
from .pages import pages_pdf, photo_jpeg

LIMITS = RenderLimits()
GiB = 2**30


def rendered(data: bytes, *, mime: str = "application/pdf", limits: RenderLimits = LIMITS, keep=None):
    with tempfile.TemporaryFile() as src, tempfile.TemporaryDirectory() as out:
        src.write(data)
        src.flush()
        outcome = render_isolated(src=src, out_dir=Path(out), mime=mime, limits=limits)
        files = {path.name: path.read_bytes() for path in Path(out).iterdir()}
    return outcome, files


def assert_refused(outcome: RenderOutcome, reason: str) -> None:
    assert (outcome.refused, outcome.pages) == (reason, []), outcome
    assert 0 < outcome.peak_rss < LIMITS.memory + 256 * 2**20


def test_each_page_is_an_image_at_the_viewer_width_with_its_text():
    outcome, files = rendered(pages_pdf(["eins", "zwei", "drei"]))
    assert outcome.refused == ""
    assert [(page["number"], page["width"], page["height"]) for page in outcome.pages] == [
        (1, 1400, 1982),
        (2, 1400, 1982),
        (3, 1400, 1982),
    ]
    assert [files[page["text"]].decode() for page in outcome.pages] == ["eins", "zwei", "drei"]
    assert files["1.png"].startswith(b"\x89PNG")
    assert outcome.thumbnail["width"] == 160


def test_a_turned_page_is_shown_upright():
    outcome, files = rendered(pages_pdf(["quer"], rotate=90))
    [page] = outcome.pages
    assert (page["width"], page["height"]) == (1400, 990)  # portrait A4 turned by 90 degrees: landscape
    image = Image.open(__import__("io").BytesIO(files["1.png"]))
    assert image.size == (1400, 990)


def test_a_photo_is_one_page_scaled_to_the_viewer_width():
    outcome, files = rendered(photo_jpeg((2800, 2100)), mime="image/jpeg")
    assert [(p["width"], p["height"], p["mime"]) for p in outcome.pages] == [(1400, 1050, "image/jpeg")]
    assert files["1.jpg"].startswith(b"\xff\xd8")


def test_a_huge_mediabox_page_is_refused():
    assert_refused(rendered(pages_pdf(["riesig"], size=(14400, 14400)))[0], "page_too_large")


def test_a_long_strip_of_a_page_is_refused_by_its_pixels():
    limits = RenderLimits(max_page_points=1_000_000)
    outcome, files = rendered(pages_pdf(["lang"], size=(100, 4000)), limits=limits)
    assert_refused(outcome, "page_too_large")  # 1400 x 56000 pixels at the viewer's width
    assert files == {}


def test_many_pages_are_refused_before_any_is_rendered():
    outcome, files = rendered(pages_pdf(["x"] * 101))
    assert_refused(outcome, "too_many_pages")
    assert files == {}


@pytest.mark.parametrize("bomb", [flate_bomb_pdf, image_bomb_pdf], ids=["content-stream", "image-xobject"])
def test_a_decompression_bomb_is_refused_within_the_budget(bomb):
    limits = RenderLimits(memory=256 * 2**20, cpu_seconds=20, wall_seconds=60)
    outcome, _files = rendered(bomb(GiB), limits=limits)
    # PDFium either gives up on the stream (the page renders blank) or the child meets its memory limit; either
    # way the rendering stays inside the budget and never takes the worker with it.
    assert outcome.peak_rss < limits.memory + 128 * 2**20, outcome
    assert outcome.refused in ("", "too_complex"), outcome


def test_the_wall_clock_limit_kills_the_child():
    outcome, _files = rendered(pages_pdf(["x"] * 50), limits=RenderLimits(wall_seconds=0.05))
    assert_refused(outcome, "too_complex")
    assert outcome.detail == "wall-clock limit"


def test_a_damaged_file_is_unreadable_not_an_error():
    assert_refused(rendered(b"%PDF-1.7\nnot really")[0], "unreadable")
    assert_refused(rendered(b"\xff\xd8 not a jpeg", mime="image/jpeg")[0], "unreadable")
