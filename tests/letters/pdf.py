"""Reading letter PDFs in tests: text runs with their positions in mm from the sheet's top-left, the PIN."""

import io
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from fontTools.ttLib import TTFont
from pypdf import PdfReader

MM_PER_PT = 25.4 / 72
PIN_PATTERN = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
# DIN 5008 form B, in mm from the sheet's top-left: the address window and the bottom of its notes zone.
WINDOW = {"left": 20.0, "top": 45.0, "right": 105.0, "bottom": 90.0}
NOTES_ZONE_BOTTOM = 45.0 + 17.7


@dataclass(frozen=True)
class Run:
    text: str
    x: float  # mm from the left edge
    baseline: float  # mm from the top edge
    size: float  # pt


def text_runs(pdf: bytes, page: int = 0) -> list[Run]:
    reader = PdfReader(io.BytesIO(pdf))
    sheet = reader.pages[page]
    height = float(sheet.mediabox.height)
    runs: list[Run] = []

    def visit(text, cm, tm, font_dict, font_size):
        for line in text.splitlines():
            if not line.strip():
                continue
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append(
                Run(line, x * MM_PER_PT, (height - y) * MM_PER_PT, round(font_size * abs(cm[0]) * abs(tm[0] or 1), 2))
            )

    sheet.extract_text(visitor_text=visit)
    return runs


@cache
def _sans() -> TTFont:
    return TTFont(Path(settings.LETTER_FONT_DIR) / "DejaVuSans.ttf")


def text_width_mm(text: str, size_pt: float) -> float:
    """Width of `text` set in DejaVu Sans at `size_pt`, from the font's advance widths."""
    font = _sans()
    cmap, metrics = font.getBestCmap(), font["hmtx"]
    units = sum(metrics[cmap[ord(char)]][0] for char in text if ord(char) in cmap)
    return units / font["head"].unitsPerEm * size_pt * MM_PER_PT


def pin_in(pdf: bytes) -> str:
    """The one PIN printed in the letter, as printed (grouped)."""
    text = "\n".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines())
    found = PIN_PATTERN.findall(text)
    assert len(found) == 1, found
    return found[0]


def assert_address_in_window(*, pdf: bytes, lines: list[str]) -> None:
    """Each address line lies inside the window, below the notes zone."""
    runs = {run.text.strip(): run for run in text_runs(pdf)}
    for line in lines:
        run = runs[line]
        assert run.x >= WINDOW["left"], line
        assert run.x + text_width_mm(line, run.size) <= WINDOW["right"], line
        # The cap height above the baseline stays below the notes zone; the descenders stay in the window.
        assert run.baseline - run.size * 0.75 * 25.4 / 72 >= NOTES_ZONE_BOTTOM, line
        assert run.baseline + 1 <= WINDOW["bottom"], line
