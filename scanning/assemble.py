"""Photographed pages into one PDF: A4, upright, one page per photo, in the given order and turn.

Runs in the sandbox's child (scanning.sandbox.assemble_isolated) under the disarm's limits. Each page is decoded
from pixels under the image budget exactly as the disarm does (scanning.disarm: the same open, the same budget,
orientation applied), turned by the member's quarter turns, shrunk to at most 300 dpi on the page, re-encoded as
JPEG and placed centred on an A4 page whose orientation follows the picture's (portrait for a portrait photo,
landscape for a landscape one), so every page reads upright without a /Rotate. No text, no metadata, no fonts.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

import pikepdf
from pikepdf import Array, Dictionary, Name
from PIL import Image, ImageOps

from .disarm import DisarmFailed, _fit_budget, _image_errors, _open

# A4 in PDF points (1/72 inch), portrait; the picture keeps a margin of 10 mm.
A4 = (595.276, 841.89)
MARGIN = 28.35
# 300 dpi across A4's long edge (297 mm): more pixels than this add nothing on paper.
MAX_LONG_EDGE = 3508
JPEG_QUALITY = 85
_TRANSPOSE = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


class PageRefused(DisarmFailed):
    """A page could not be made part of the document; `number` (1-based) names it, `cause` the disarm's refusal."""

    def __init__(self, number: int, cause: DisarmFailed):
        super().__init__(number, type(cause).__name__)
        self.number = number
        self.cause = cause


@dataclass(frozen=True)
class Page:
    """One photographed page: its (checked) image file and the member's clockwise turn (0, 90, 180 or 270)."""

    src: IO[bytes]
    rotation: int = 0


def _page_pixels(src: IO[bytes], *, rotation: int, budget: int) -> tuple[bytes, int, int, str]:
    """The page's picture upright and turned, as JPEG bytes, its size and PDF colour space."""
    with _image_errors(), _open(src) as image:
        _fit_budget(image, budget)
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        pixels = image if image.mode in ("RGB", "L") else image.convert("RGB")
        if rotation in _TRANSPOSE:
            pixels = pixels.transpose(_TRANSPOSE[rotation])
        if max(pixels.size) > MAX_LONG_EDGE:
            pixels.thumbnail((MAX_LONG_EDGE, MAX_LONG_EDGE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        pixels.info.clear()
        pixels.save(out, format="JPEG", quality=JPEG_QUALITY, exif=b"", icc_profile=None, comment=b"")
        space = "/DeviceGray" if pixels.mode == "L" else "/DeviceRGB"
        return out.getvalue(), pixels.width, pixels.height, space


def page_box(width: int, height: int) -> tuple[float, float, float, float, float, float]:
    """The A4 page (portrait or landscape, following the picture) and where the picture goes on it: page width
    and height, then x, y, width and height of the picture, centred within the margins."""
    page_w, page_h = A4 if height >= width else (A4[1], A4[0])
    scale = min((page_w - 2 * MARGIN) / width, (page_h - 2 * MARGIN) / height)
    shown_w, shown_h = width * scale, height * scale
    return page_w, page_h, (page_w - shown_w) / 2, (page_h - shown_h) / 2, shown_w, shown_h


def pages_assemble(pages: Sequence[Page], out: IO[bytes], *, budget: int) -> int:
    """Write the pages as one PDF to `out`; returns the page count. PageRefused names the first page that fails
    (too many pixels, unreadable, out of memory); nothing useful is left in `out` then."""
    pdf = pikepdf.new()
    for number, page in enumerate(pages, start=1):
        try:
            data, width, height, space = _page_pixels(page.src, rotation=page.rotation, budget=budget)
        except DisarmFailed as error:
            raise PageRefused(number, error) from error
        image = pikepdf.Stream(pdf, data)
        image.stream_dict = Dictionary(
            Type=Name.XObject,
            Subtype=Name.Image,
            Width=width,
            Height=height,
            ColorSpace=Name(space),
            BitsPerComponent=8,
            Filter=Name.DCTDecode,
        )
        page_w, page_h, x, y, shown_w, shown_h = page_box(width, height)
        content = f"q {shown_w:.3f} 0 0 {shown_h:.3f} {x:.3f} {y:.3f} cm /Im0 Do Q".encode()
        pdf.pages.append(
            pikepdf.Page(
                Dictionary(
                    Type=Name.Page,
                    MediaBox=Array([0, 0, round(page_w, 3), round(page_h, 3)]),
                    Resources=Dictionary(XObject=Dictionary(Im0=image)),
                    Contents=pikepdf.Stream(pdf, content),
                )
            )
        )
        del data
    pdf.save(out, deterministic_id=True)
    return len(pdf.pages)
