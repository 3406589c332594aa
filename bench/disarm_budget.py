"""Benchmark: the peak RSS of disarming each hostile fixture in the limited child, beside the budget.

    .venv/bin/python bench/disarm_budget.py [--size-mib 1024]

Builds the hostile fixtures of tests/scanning/hostile.py (a Flate bomb in one stream and split over 1024
streams, a decompression bomb in an image XObject, a progressive 13000 x 13000 4:4:4 JPEG, a pixel flood) and a
harmless PDF, disarms each through `scanning.sandbox.disarm_isolated` with the limits from settings (what the
worker's check uses), and prints for each: the verdict, the child's peak RSS (its VmHWM), the memory limit, the
time. It asserts that each hostile file was refused for the right reason and under the limit, and that the
harmless one came back disarmed. `run(size=...)` is importable: a smoke test runs it with a small size.
"""

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass

from _django import ROOT

MiB = 2**20


@dataclass(frozen=True)
class Row:
    name: str
    verdict: str
    peak_rss: int
    limit: int
    seconds: float


def fixtures(size: int) -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, MIME type, expected verdict); `size` is the decoded size of the bombs (a power of 4)."""
    from tests.scanning.hostile import (
        flate_bomb_pdf,
        image_bomb_pdf,
        png_declaring,
        progressive_jpeg_declaring,
    )
    from tests.scanning.pdfs import pdf_bytes

    return {
        "harmless PDF, every kind of active content": (pdf_bytes("all"), "application/pdf", "application/pdf"),
        f"Flate bomb, {size // MiB} MiB in one stream": (flate_bomb_pdf(size), "application/pdf", "too_complex"),
        f"Flate bomb, {size // MiB} MiB over 1024 streams": (
            flate_bomb_pdf(size, streams=1024),
            "application/pdf",
            "too_complex",
        ),
        f"image XObject bomb, {size // MiB} MiB of pixels": (image_bomb_pdf(size), "application/pdf", "too_complex"),
        "progressive 13000 x 13000 4:4:4 JPEG": (
            progressive_jpeg_declaring(13000, 13000),
            "image/jpeg",
            "image_too_large",
        ),
        "pixel flood, 14000 x 14000 PNG": (png_declaring(14000, 14000), "image/png", "image_too_large"),
    }


def run(*, size: int = 1024 * MiB) -> list[Row]:
    """Disarm every fixture once in the limited child; assert each verdict and that each peak is under the limit."""
    import django

    django.setup()
    from scanning.sandbox import disarm_isolated
    from uploads.screening import disarm_limits

    limits = disarm_limits()
    rows = []
    for name, (data, mime, expected) in fixtures(size).items():
        with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as strings:
            src.write(data)
            src.flush()
            started = time.perf_counter()
            outcome = disarm_isolated(src=src, out=out, strings=strings, mime=mime, limits=limits)
            seconds = time.perf_counter() - started
            verdict = outcome.refused or outcome.mime
            assert verdict == expected, f"{name}: {verdict} ({outcome.detail}), expected {expected}"
            if not outcome.refused:
                assert out.read(5) == b"%PDF-", f"{name}: no disarmed copy"
            assert 0 < outcome.peak_rss < limits.memory, f"{name}: peak {outcome.peak_rss} over {limits.memory}"
        rows.append(Row(name, verdict, outcome.peak_rss, limits.memory, seconds))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="decoded size of the bombs (a power of 4)")
    args = parser.parse_args(argv)
    rows = run(size=args.size_mib * MiB)
    print(f"{'fixture':<48} {'verdict':<16} {'peak RSS':>10} {'limit':>8} {'time':>7}")
    for row in rows:
        print(
            f"{row.name:<48} {row.verdict:<16} {row.peak_rss / MiB:>6.0f} MiB {row.limit / MiB:>4.0f} MiB"
            f" {row.seconds:>6.2f}s"
        )
    print(f"(the child's VmHWM; the limit is RLIMIT_AS above the child's start; run from {ROOT})")


if __name__ == "__main__":
    sys.exit(main())
