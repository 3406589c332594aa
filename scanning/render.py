"""A disarmed document's pages as images and text, for the case worker's viewer: bytes in, pages out.

`render_isolated` renders in a child process under the same kind of limits as the disarm (scanning.sandbox:
address space above the child's start, CPU seconds, a wall-clock deadline), with caps of its own: the number of
pages, each page's size in points and its pixels. A PDF's pages are rendered with PDFium (pypdfium2, Apache-2.0 /
BSD-3) at a fixed width and their text extracted from PDFium's text page; a photo (already re-encoded pixels) is
its single page, scaled. The child writes the files into a folder the parent gave it and prints one JSON line;
a document over a cap, or a child that dies at a limit, is refused with a reason the viewer names.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from .sandbox import ROOT, _limit, _status, _wait

MiB = 2**20
PDF = "application/pdf"
# Why a document is not shown: over the page cap, a page over the size or pixel cap, a limit of the child hit,
# or a file PDFium cannot open.
TOO_MANY_PAGES = "too_many_pages"
PAGE_TOO_LARGE = "page_too_large"
TOO_COMPLEX = "too_complex"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class RenderLimits:
    """What rendering one document may take: the child's memory, CPU and wall seconds (as the disarm's), the
    number of pages, a page's largest side in points (PDF units of 1/72 inch) and its pixels, the width a page is
    rendered at and that of the thumbnail, and the characters of text kept per page."""

    memory: int = 512 * MiB
    cpu_seconds: int = 60
    wall_seconds: float = 120
    max_pages: int = 100
    max_page_points: float = 5000.0  # about 1.76 m: beyond any paper a member holds (A0 is 2384 x 3370)
    max_page_pixels: int = 8_000_000
    width: int = 1400
    thumb_width: int = 160
    max_text: int = 100_000


@dataclass(frozen=True)
class RenderOutcome:
    """The child's answer: one dict per page ({"number", "width", "height", "image", "mime", "text"}, file names
    in the output folder), the thumbnail's ({"image", "mime", "width", "height"}), or why the document is refused;
    the child's peak resident memory in bytes; how it ended (for the log)."""

    pages: list[dict] = field(default_factory=list)
    thumbnail: dict = field(default_factory=dict)
    refused: str = ""
    peak_rss: int = 0
    detail: str = ""


class RenderRefused(Exception):
    """The document is over a cap: `reason` is one of the names above."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def _save_thumbnail(image, out_dir: Path, limits: RenderLimits) -> dict:
    thumb = image.copy()
    thumb.thumbnail((limits.thumb_width, limits.thumb_width * 4))
    thumb.save(out_dir / "thumb.png", "PNG", optimize=False)
    return {"image": "thumb.png", "mime": "image/png", "width": thumb.width, "height": thumb.height}


def _pdf_pages(src: IO[bytes], out_dir: Path, limits: RenderLimits) -> tuple[list[dict], dict]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(src)
    except pdfium.PdfiumError as error:
        raise RenderRefused(UNREADABLE, type(error).__name__) from None
    count = len(pdf)
    if count == 0:
        raise RenderRefused(UNREADABLE, "no pages")
    if count > limits.max_pages:
        raise RenderRefused(TOO_MANY_PAGES, f"{count} pages")
    pages, thumbnail = [], {}
    for index in range(count):
        page = pdf[index]
        width_pt, height_pt = page.get_size()  # as shown, its /Rotate applied
        if not (0 < width_pt <= limits.max_page_points and 0 < height_pt <= limits.max_page_points):
            raise RenderRefused(PAGE_TOO_LARGE, f"page {index + 1}: {width_pt:.0f} x {height_pt:.0f} pt")
        scale = limits.width / width_pt
        if limits.width * round(height_pt * scale) > limits.max_page_pixels:
            raise RenderRefused(PAGE_TOO_LARGE, f"page {index + 1}: too many pixels")
        # Forms and annotations are flattened or removed by the disarm; draw the page's content only.
        bitmap = page.render(scale=scale, may_draw_forms=False)
        image = bitmap.to_pil()
        number = index + 1
        image.save(out_dir / f"{number}.png", "PNG", compress_level=1)
        if index == 0:
            thumbnail = _save_thumbnail(image, out_dir, limits)
        textpage = page.get_textpage()
        text = textpage.get_text_range()[: limits.max_text]
        (out_dir / f"{number}.txt").write_text(text, encoding="utf-8")
        pages.append(
            {"number": number, "width": image.width, "height": image.height, "image": f"{number}.png",
             "mime": "image/png", "text": f"{number}.txt"}
        )  # fmt: skip
        textpage.close()
        bitmap.close()
        page.close()
    pdf.close()
    return pages, thumbnail


def _image_page(src: IO[bytes], out_dir: Path, limits: RenderLimits) -> tuple[list[dict], dict]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(src) as opened:
            if opened.width * opened.height > limits.max_page_pixels * 4:
                raise RenderRefused(PAGE_TOO_LARGE, f"{opened.width} x {opened.height} px")
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise RenderRefused(UNREADABLE, type(error).__name__) from None
    if image.width > limits.width:
        image = image.resize((limits.width, max(1, round(image.height * limits.width / image.width))))
    if image.width * image.height > limits.max_page_pixels:
        raise RenderRefused(PAGE_TOO_LARGE, f"{image.width} x {image.height} px")
    image.save(out_dir / "1.jpg", "JPEG", quality=85)
    (out_dir / "1.txt").write_text("", encoding="utf-8")
    page = {"number": 1, "width": image.width, "height": image.height, "image": "1.jpg", "mime": "image/jpeg",
            "text": "1.txt"}  # fmt: skip
    return [page], _save_thumbnail(image, out_dir, limits)


def render_pages(*, src: IO[bytes], mime: str, out_dir: Path, limits: RenderLimits) -> tuple[list[dict], dict]:
    """Render the document `src` (a seekable file: a disarmed PDF, or a re-encoded image) into `out_dir`, in this process: the
    pages and the thumbnail (RenderOutcome's dicts). Raises RenderRefused over a cap. The child calls this."""
    if mime == PDF:
        return _pdf_pages(src, out_dir, limits)
    return _image_page(src, out_dir, limits)


def _child(args: dict) -> dict:
    limits = RenderLimits(**args["limits"])
    _limit(limits.memory, limits.cpu_seconds)
    try:
        pages, thumbnail = render_pages(
            src=os.fdopen(args["src"], "rb", closefd=False), mime=args["mime"], out_dir=Path(args["out"]), limits=limits
        )
    except RenderRefused as error:
        return {"refused": error.reason, "detail": str(error)}
    except MemoryError:
        return {"refused": TOO_COMPLEX, "detail": "memory"}
    except Exception as error:  # a parser's failure on a hostile file is a refusal, named by its class only
        return {"refused": UNREADABLE, "detail": type(error).__name__}
    return {"pages": pages, "thumbnail": thumbnail}


def main() -> None:
    answer = _child(json.loads(sys.argv[1]))
    answer["peak_rss"] = _status("VmHWM")
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    os._exit(0)  # nothing left to tidy; skip interpreter teardown under the limits


def render_isolated(*, src: IO[bytes], out_dir: Path, mime: str, limits: RenderLimits) -> RenderOutcome:
    """Render `src` (a real file: the decrypted disarmed copy) into the folder `out_dir` in a limited child."""
    args = {"limits": asdict(limits), "mime": mime, "src": src.fileno(), "out": str(out_dir)}
    src.seek(0)
    # As the disarm's child: no secrets from our environment, few malloc arenas.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "MALLOC_ARENA_MAX": "2"}
    with tempfile.TemporaryFile() as answer, tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module; arguments are JSON we built
            [sys.executable, "-m", "scanning.render", json.dumps(args)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=answer,
            stderr=errors,
            pass_fds=(src.fileno(),),
        )
        try:
            status, peak, killed = _wait(child.pid, time.monotonic() + limits.wall_seconds)
        except BaseException:
            child.kill()
            child.wait()
            raise
        child.returncode = os.waitstatus_to_exitcode(status)
        answer.seek(0)
        line = answer.read(1 << 20).decode("utf-8", "replace").strip()
        errors.seek(0)
        tail = errors.read(65536).decode("utf-8", "replace").strip().splitlines()[-1:]
    if killed:
        return RenderOutcome(refused=TOO_COMPLEX, peak_rss=peak, detail="wall-clock limit")
    if child.returncode != 0 or not line:
        how = f"signal {-child.returncode}" if child.returncode < 0 else f"exit {child.returncode}"
        return RenderOutcome(
            refused=TOO_COMPLEX, peak_rss=peak, detail=" ".join([how, *(t.split(":", 1)[0] for t in tail)])
        )
    result = json.loads(line)
    return RenderOutcome(
        pages=result.get("pages", []),
        thumbnail=result.get("thumbnail", {}),
        refused=result.get("refused", ""),
        peak_rss=max(peak, int(result.get("peak_rss", 0))),
        detail=result.get("detail", ""),
    )


if __name__ == "__main__":
    main()
