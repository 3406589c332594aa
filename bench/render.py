"""Benchmark: pages per second rendered for the case worker's viewer, and the rendering child's peak RSS.

    .venv/bin/python bench/render.py [--pages 30] [--rounds 3]

Builds a PDF of --pages A4 pages with text and a photo, renders each the way the worker does
(`scanning.render.render_isolated` with the limits from settings: a limited child, PNG pages at 1,400 px, the
text of every page, a thumbnail) and, in the same run, the strongest honest baseline: pypdfium2 rendering the same
pages at the same scale bare in this process (bitmap to PIL image, text page read; no child, no encoding, no
files). Prints pages/s by CPU time (this process plus its children: the machine is shared) and by wall clock,
the ratio ours / baseline, the child's peak RSS (its VmHWM) beside the memory limit, and the load average. It
asserts that every page was rendered (an image and its text file for each). `run(...)` is importable.
"""

import argparse
import io
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _django import ROOT

MiB = 2**20


@dataclass(frozen=True)
class Result:
    pages: int
    ours_cpu: float
    ours_wall: float
    base_cpu: float
    base_wall: float
    peak_rss: int
    memory_limit: int
    photo_cpu: float


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _document(pages: int) -> bytes:
    from tests.scanning.pages import pages_pdf

    lines = "Arbeitgeberbescheinigung nach Paragraph 312 SGB III, Angaben zum Entgelt"
    return pages_pdf([f"Seite {number}: {lines}" for number in range(1, pages + 1)])


def _ours(data: bytes, mime: str, limits) -> tuple[float, float, object, list[bytes]]:
    from scanning.render import render_isolated

    with tempfile.TemporaryFile() as src, tempfile.TemporaryDirectory() as out:
        src.write(data)
        src.flush()
        cpu, wall = _cpu(), time.perf_counter()
        outcome = render_isolated(src=src, out_dir=Path(out), mime=mime, limits=limits)
        cpu, wall = _cpu() - cpu, time.perf_counter() - wall
        assert not outcome.refused, f"refused: {outcome.refused} ({outcome.detail})"
        files = [(Path(out) / page["image"]).read_bytes() for page in outcome.pages]
        texts = [(Path(out) / page["text"]).read_text(encoding="utf-8") for page in outcome.pages]
    if mime == "application/pdf":
        assert all(f"Seite {n}:" in text for n, text in enumerate(texts, 1)), "a page's text is missing"
    return cpu, wall, outcome, files


def _bare(data: bytes, width: int) -> tuple[float, float, int]:
    import pypdfium2 as pdfium

    cpu, wall = _cpu(), time.perf_counter()
    pdf = pdfium.PdfDocument(io.BytesIO(data))
    count = 0
    for index in range(len(pdf)):
        page = pdf[index]
        image = page.render(scale=width / page.get_size()[0], may_draw_forms=False).to_pil()
        text = page.get_textpage().get_text_range()
        assert image.width == width and text
        count += 1
    pdf.close()
    return _cpu() - cpu, time.perf_counter() - wall, count


def run(*, pages: int = 30, rounds: int = 3) -> Result:
    """Render the document `rounds` times each way; the best round of each counts."""
    import django

    django.setup()
    from tests.scanning.pages import photo_jpeg
    from uploads.rendering import render_limits

    limits = render_limits()
    data = _document(pages)
    best_ours = best_base = None
    peak = 0
    for _ in range(rounds):
        cpu, wall, outcome, files = _ours(data, "application/pdf", limits)
        assert len(outcome.pages) == pages and len(files) == pages, f"{len(outcome.pages)} of {pages} pages"
        assert all(image.startswith(b"\x89PNG") for image in files), "a page image is missing"
        peak = max(peak, outcome.peak_rss)
        best_ours = min(best_ours or (cpu, wall), (cpu, wall))
        base_cpu, base_wall, count = _bare(data, limits.width)
        assert count == pages
        best_base = min(best_base or (base_cpu, base_wall), (base_cpu, base_wall))
    photo_cpu, _wall, photo, files = _ours(photo_jpeg((4000, 3000)), "image/jpeg", limits)
    assert len(photo.pages) == 1 and files[0].startswith(b"\xff\xd8"), "the photo's page is missing"
    return Result(
        pages=pages,
        ours_cpu=best_ours[0],
        ours_wall=best_ours[1],
        base_cpu=best_base[0],
        base_wall=best_base[1],
        peak_rss=max(peak, photo.peak_rss),
        memory_limit=limits.memory,
        photo_cpu=photo_cpu,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=30, help="pages of the PDF rendered")
    parser.add_argument("--rounds", type=int, default=3, help="rounds each way; the best counts")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    result = run(pages=args.pages, rounds=args.rounds)
    ours = result.pages / result.ours_cpu
    base = result.pages / result.base_cpu
    print(f"viewer rendering of a {result.pages}-page PDF (best of {args.rounds}), from {ROOT}")
    print(f"  ours (limited child, PNG + text + thumbnail): {ours:7.1f} pages/s CPU, "
          f"{result.pages / result.ours_wall:7.1f} pages/s wall")  # fmt: skip
    print(f"  baseline (pypdfium2 bare, in process):        {base:7.1f} pages/s CPU, "
          f"{result.pages / result.base_wall:7.1f} pages/s wall")  # fmt: skip
    print(f"  ratio ours / baseline (CPU): {ours / base:.2f}")
    print(f"  photo (4000 x 3000 JPEG, one page): {result.photo_cpu:.2f} s CPU")
    print(
        f"  peak RSS of the rendering child: {result.peak_rss / MiB:.0f} MiB (limit {result.memory_limit / MiB:.0f} MiB)"
    )
    print(f"  load average before / after: {load[0]:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"checked: {result.pages} pages rendered, each an image and its text; the photo one page")


if __name__ == "__main__":
    sys.exit(main())
