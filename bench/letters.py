"""Benchmark for PIN letters: letters/second through the worker's render path against plain WeasyPrint, and peak
memory of the worker and the print-shop collection for batches of 10 and 500 letters; campaign letters (static layer
laid out once, variable fields per letter, ten letters a document) against plain WeasyPrint, the campaign
renderer's peak memory for 10,000 letters against 100, and the bytes a campaign letter weighs: stored (its
variable page plus its share of the shared layers) and in the print shop's merged PDF of a batch of 1,000, beside
the letter with everything embedded.

Run by hand from the project folder:  .venv/bin/python bench/letters.py [--letters 30] [--rounds 3]

Both renderers get the same HTML (the letter template with the same stylesheet and fonts) and write the same PDF
variant. "plain" is what one would write without care: HTML(string=...).write_pdf() per letter, which parses the
stylesheet and sets up fonts every time. "worker" is letters.rendering.render_letter, which the worker calls: the
template, the parsed stylesheet, the font configuration and a small user-agent stylesheet are made once per
process. The two run alternately in the same process; the best round of each counts (the machine is shared).
Rates are given per CPU second of this process and per wall-clock second. Memory is measured in a fresh process
per batch size (peak RSS, reset before each phase), running the full worker step (PIN, PDF, encryption, database)
and then the collection into one merged PDF.

Before it prints a rate it checks that every timed letter was rendered: each PDF's text (pdftotext) carries
that letter's PIN, the campaign path returned one letter per member, the full worker step left every request
rendered with a stored PDF, and each memory child rendered (and collected) as many letters as asked.
"""

import argparse
import datetime
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django(workdir: Path) -> None:
    """A private SQLite database and file storage in `workdir`; Celery eager; nothing shared with other runs."""
    sys.path.insert(0, str(ROOT))
    from _django import sqlite_from_template

    sqlite_from_template(workdir / "bench.sqlite3")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "CELERY_BROKER_URL": "",
            "CACHE_URL": "",
            "PORTAL_VAR_DIR": str(workdir),
            "PRIVATE_MEDIA_ROOT": str(workdir / "private"),
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()


def contents(count: int):
    from letters.rendering import LetterContent

    return [
        LetterContent(
            reference=f"B-{n:08d}",
            language="de" if n % 3 else "en",
            full_name=f"Erika Mustermann{n}",
            address_lines=[f"Erika Mustermann{n}", f"Heidestraße {n % 200 + 1}", "51147 Köln"],
            purpose="Neue PIN auf Wunsch",
            valid_until=datetime.date(2027, 1, 28),
            letter_date=datetime.date(2026, 11, 29),
            pin_display=f"AB{n % 10}D-EFGH-JK{n % 90 + 10}",
        )
        for n in range(count)
    ]


def plain_html(renderer, content) -> str:
    """The same letter as one self-contained HTML document, as a plain WeasyPrint user would feed it."""
    from letters.rendering import STYLESHEET, _font_css

    css = _font_css(renderer.font_dir) + "\n" + STYLESHEET.read_text(encoding="utf-8")
    return renderer.html(content).replace("</head>", f"<style>{css}</style></head>")


def timed(func, items, results: list | None = None) -> tuple[float, float]:
    """CPU and wall seconds of func over items; each result is appended to `results` for the checks after."""
    keep = results.append if results is not None else lambda result: None
    cpu, wall = time.process_time(), time.perf_counter()
    for item in items:
        keep(func(item))
    return time.process_time() - cpu, time.perf_counter() - wall


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF as pdftotext (poppler) extracts it, without whitespace."""
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return "".join(out.split())


def assert_letters(pdfs: list[bytes], letters: list, what: str) -> None:
    """One PDF per letter, in order, each carrying that letter's PIN."""
    assert len(pdfs) == len(letters), f"{what}: {len(pdfs)} PDFs for {len(letters)} letters"
    for pdf, content in zip(pdfs, letters, strict=True):
        assert pdf.startswith(b"%PDF-"), f"{what}: not a PDF"
        assert content.pin_display in pdf_text(pdf), f"{what}: letter {content.reference} without its PIN"


def throughput(count: int, rounds: int) -> None:
    from weasyprint import HTML

    from letters.rendering import PDF_VARIANT, render_letter, renderer

    letters = contents(count)
    html = [plain_html(renderer(), content) for content in letters]
    base_url = renderer().font_dir.as_uri() + "/"

    def plain(source: str) -> bytes:
        return HTML(string=source, base_url=base_url).write_pdf(pdf_variant=PDF_VARIANT)

    def worker(content) -> bytes:
        return render_letter(content=content).pdf

    worker(letters[0])  # the worker's one-time setup happens at its first letter, once per process
    plain(html[0])
    best = {"plain": (float("inf"), float("inf")), "worker": (float("inf"), float("inf"))}
    ratios = []
    for number in range(1, rounds + 1):
        spent = {}
        for name, func, items in (("plain", plain, html), ("worker", worker, letters)):
            pdfs: list[bytes] = []
            cpu, wall = spent[name] = timed(func, items, pdfs)
            assert_letters(pdfs, letters, f"{name} round {number}")
            best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
            print(f"  round {number} {name:6}: {count / cpu:6.1f} letters/CPU-s  {count / wall:6.1f} letters/s wall")
        ratios.append(spent["plain"][0] / spent["worker"][0])
    plain_cpu, plain_wall = best["plain"]
    ours_cpu, ours_wall = best["worker"]
    print(
        f"plain WeasyPrint     : {count / plain_cpu:6.1f} letters/CPU-s  {count / plain_wall:6.1f} letters/s wall (best round)"
    )
    print(
        f"worker render path   : {count / ours_cpu:6.1f} letters/CPU-s  {count / ours_wall:6.1f} letters/s wall (best round)"
    )
    print(
        f"speed-up (goal 1.3x) : {plain_cpu / ours_cpu:6.2f}x CPU        {plain_wall / ours_wall:6.2f}x wall (best rounds)"
    )
    print(
        f"speed-up per round   : {', '.join(f'{ratio:.2f}x' for ratio in ratios)} CPU (median {statistics.median(ratios):.2f}x)"
    )


def campaign_contents(count: int):
    import dataclasses

    return [
        dataclasses.replace(content, case_title="Familienversicherung 2027", kvnr=f"T{n:09d}")
        for n, content in enumerate(contents(count))
    ]


def campaign_throughput(count: int, rounds: int, group: int) -> None:
    """The campaign path (letters.layered, `group` letters a document) against plain WeasyPrint on the same letter
    (the campaign template rendered whole, stylesheets inline, one document per letter)."""
    from weasyprint import HTML

    from letters.layered import CAMPAIGN_STYLESHEET, render_campaign_letters, static_layer
    from letters.rendering import PDF_VARIANT, STYLESHEET, _font_css, renderer

    letters = campaign_contents(count)
    css = "\n".join(
        [
            _font_css(renderer().font_dir),
            STYLESHEET.read_text(encoding="utf-8"),
            CAMPAIGN_STYLESHEET.read_text(encoding="utf-8"),
        ]
    )
    html = []
    for content in letters:
        layer = static_layer(template="standard", language=content.language, case_title=content.case_title)
        html.append(layer.html(content, layer="full").replace("</head>", f"<style>{css}</style></head>"))
    base_url = renderer().font_dir.as_uri() + "/"

    def plain(source: str) -> bytes:
        return HTML(string=source, base_url=base_url).write_pdf(pdf_variant=PDF_VARIANT)

    def campaign(batch) -> list:
        # What the worker stores: the variable page (the shared layer is stored once); composed for the checks.
        return render_campaign_letters(contents=batch, template="standard")

    groups = [letters[i : i + group] for i in range(0, count, group)]
    campaign(groups[0])  # static layers are laid out at the first letters, once per process and language
    plain(html[0])
    best = {"plain": (float("inf"), float("inf")), "campaign": (float("inf"), float("inf"))}
    ratios = []
    for number in range(1, rounds + 1):
        spent = {}
        for name, func, items in (("plain", plain, html), ("campaign", campaign, groups)):
            results: list = []
            cpu, wall = spent[name] = timed(func, items, results)
            pdfs = results if name == "plain" else [letter.document for group in results for letter in group]
            assert_letters(pdfs, letters, f"{name} round {number}")
            best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
            print(f"  round {number} {name:8}: {count / cpu:6.1f} letters/CPU-s  {count / wall:6.1f} letters/s wall")
        ratios.append(spent["plain"][0] / spent["campaign"][0])
    (plain_cpu, plain_wall), (ours_cpu, ours_wall) = best["plain"], best["campaign"]
    print(
        f"plain WeasyPrint     : {count / plain_cpu:6.1f} letters/CPU-s  {count / plain_wall:6.1f} letters/s wall (best round)"
    )
    print(
        f"campaign path        : {count / ours_cpu:6.1f} letters/CPU-s  {count / ours_wall:6.1f} letters/s wall (best round)"
    )
    print(
        f"speed-up (goal 5x)   : {plain_cpu / ours_cpu:6.2f}x CPU        {plain_wall / ours_wall:6.2f}x wall (best rounds)"
    )
    print(
        f"speed-up per round   : {', '.join(f'{ratio:.2f}x' for ratio in ratios)} CPU (median {statistics.median(ratios):.2f}x)"
    )


def encrypted_size(data: bytes) -> int:
    from core.crypto import encrypt_chunks

    return sum(len(piece) for piece in encrypt_chunks([data], aad=b"letter:1"))


def merged_size(pdfs, *, share: bool = True) -> tuple[int, bytes]:
    from letters.pdfmerge import PdfConcatenator

    out = io.BytesIO()
    merged = PdfConcatenator(out, share=share)
    for pdf in pdfs:
        merged.append(io.BytesIO(pdf))
    merged.close()
    return out.tell(), out.getvalue()


def campaign_sizes(count: int, plain_sample: int, group: int) -> None:
    """Bytes per campaign letter: stored (encrypted: each letter's file plus the shared layers, once each) and in
    the print shop's merged PDF of `count` letters, beside the letter with everything embedded (the full render
    of the same template, as every letter was before the layers were shared: its own fonts, static page and
    PDF/A declaration), measured on a sample of `plain_sample` letters (its size does not depend on the batch)."""
    from letters.layered import render_campaign_letters, static_layer

    letters = campaign_contents(count)
    rendered = []
    for start in range(0, count, group):
        rendered += render_campaign_letters(contents=letters[start : start + group], template="standard")
    layers = {letter.layer.digest: letter.layer for letter in rendered if letter.layer is not None}
    parts = sum(encrypted_size(letter.pdf) for letter in rendered)
    shared = sum(encrypted_size(layer.pdf) for layer in layers.values())
    batch, merged = merged_size(letter.document for letter in rendered)
    # The batch PDF carries every letter on its own page with its PIN and reference, in order.
    pages = pdf_text_pages(merged)
    assert len(pages) == count, f"sizes: {len(pages)} pages in the merged PDF for {count} letters"
    for page, content in zip(pages, letters, strict=True):
        assert content.pin_display in page and content.reference in page, f"sizes: {content.reference} unreadable"

    sample = letters[:plain_sample]
    full = [
        static_layer(template="standard", language=c.language, case_title=c.case_title).render_full(c).pdf
        for c in sample
    ]
    assert_letters(full, sample, "sizes, full render")
    plain_stored = sum(encrypted_size(pdf) for pdf in full) / len(full)
    plain_batch, _ = merged_size(full)
    unshared_batch, _ = merged_size(full, share=False)
    stored = (parts + shared) / count
    print(
        f"stored per letter    : {stored / 1024:6.1f} KB (variable page {parts / count / 1024:.1f} KB + "
        f"{len(layers)} shared layers of {shared / 1024:.0f} KB over {count} letters), everything embedded "
        f"{plain_stored / 1024:.1f} KB -> {plain_stored / stored:.1f}x smaller (goal <= 10 KB)"
    )
    print(
        f"merged PDF per letter: {batch / count / 1024:6.1f} KB in a batch of {count} ({batch / 2**20:.1f} MiB), "
        f"everything embedded {plain_batch / len(full) / 1024:.1f} KB ({unshared_batch / len(full) / 1024:.1f} KB merged "
        f"without sharing objects) -> {unshared_batch / len(full) / (batch / count):.1f}x smaller (goal <= 10 KB)"
    )
    print(f"checked: pdftotext finds each of the {count} PINs and references on its own page of the merged PDF")


def pdf_text_pages(pdf: bytes) -> list[str]:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return ["".join(page.split()) for page in out.split("\f")[:-1]]


def campaign_memory_child(count: int, group: int) -> None:
    """In a fresh process: peak RSS while the campaign path renders `count` letters (render only, no database)."""
    from letters.layered import render_campaign_letters

    render_campaign_letters(contents=campaign_contents(2), template="standard")
    _reset_peak()
    rendered = 0
    for start in range(0, count, group):
        letters = render_campaign_letters(contents=campaign_contents(min(group, count - start)), template="standard")
        rendered += sum(1 for letter in letters if letter.pdf.startswith(b"%PDF-"))
    peak = _peak_mib()
    assert rendered == count, f"campaign memory: {rendered} letters rendered, {count} asked"
    print(f"{count} {peak:.1f}")


def campaign_memory(sizes: list[int], group: int) -> None:
    peaks = {}
    for count in sizes:
        result = subprocess.run(
            [sys.executable, __file__, "--campaign-memory-child", str(count), "--group", str(group)],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[count] = float(result.stdout.split()[-1])
        print(f"campaign renderer, {count:6} letters: peak RSS {peaks[count]:6.1f} MiB")
    low, high = min(sizes), max(sizes)
    print(f"growth {low} -> {high} letters: {peaks[high] - peaks[low]:+.1f} MiB (goal within +20 MiB)")


def full_worker_step(count: int) -> None:
    """For information: the whole worker step per letter (PIN with Argon2id, render, AES-GCM, database, audit)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    ids = create_requests(count)
    from letters.services import letter_render

    cpu, wall = timed(lambda pk: letter_render(request_id=pk), ids)
    assert_rendered(ids)
    print(
        f"full worker step     : {count / cpu:6.1f} letters/CPU-s  {count / wall:6.1f} letters/s wall (with Argon2id PIN)"
    )


def assert_rendered(ids: list[int]) -> None:
    """Every request was rendered by the worker step: status rendered, a stored PDF, its PIN issued."""
    from django.core.files.storage import storages

    from letters.constants import LetterStatus
    from letters.models import LetterRequest

    letters = list(LetterRequest.objects.filter(pk__in=ids))
    assert len(letters) == len(ids), f"{len(letters)} letter requests of {len(ids)}"
    for letter in letters:
        assert letter.status == LetterStatus.RENDERED, f"letter {letter.pk}: {letter.status}, not rendered"
        assert letter.pdf_name and storages["default"].exists(letter.pdf_name), f"letter {letter.pk}: no PDF stored"


def create_requests(count: int) -> list[int]:
    from django.utils import timezone

    from bench._members import bench_members_bulk_create
    from letters.models import LetterRequest
    from members.models import Member

    members = bench_members_bulk_create(first=Member.objects.count(), count=count, kvnr_letter="B")
    now = timezone.now()
    letters = LetterRequest.objects.bulk_create(
        LetterRequest(member=member, purpose="Benchmark", created_at=now, enqueued_at=now) for member in members
    )
    return [letter.pk for letter in letters]


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def memory_child(count: int) -> None:
    """In a fresh process: render `count` letters through the worker step, then collect them as one batch."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from letters.rendering import renderer
    from letters.services import batch_collect, letter_render

    renderer()
    ids = create_requests(count)
    _reset_peak()
    for pk in ids:
        letter_render(request_id=pk)
    render_peak = _peak_mib()
    assert_rendered(ids)
    _reset_peak()
    with tempfile.TemporaryFile() as pdf:
        batch = batch_collect(user=None, pdf_out=pdf, manifest_out=io.StringIO(), limit=count)
        size = pdf.tell()
    collect_peak = _peak_mib()
    assert batch.letters.count() == count, f"collected {batch.letters.count()} letters of {count}"
    print(f"{count} {render_peak:.1f} {collect_peak:.1f} {batch.page_count} {size}")


def memory(sizes: list[int]) -> None:
    for count in sizes:
        result = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(count)], capture_output=True, text=True, check=True
        )
        _, render_peak, collect_peak, pages, size = result.stdout.split()[-5:]
        print(
            f"batch of {count:3}: worker peak RSS {render_peak:>6} MiB, collection peak RSS {collect_peak:>6} MiB "
            f"({pages} pages, merged PDF {int(size) / 1024 / 1024:.1f} MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=30, help="letters per round (default 30)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best counts (default 3)")
    parser.add_argument("--memory-sizes", default="10,500", help="batch sizes for the memory figures")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--group", type=int, default=10, help="campaign letters per document (default 10)")
    parser.add_argument("--campaign-memory-sizes", default="100,10000", help="letters for the campaign memory figures")
    parser.add_argument("--campaign-memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--campaign-only", action="store_true", help="only the campaign figures")
    parser.add_argument("--size-letters", type=int, default=1000, help="campaign letters in the size batch (1000)")
    parser.add_argument("--size-sample", type=int, default=30, help="full renders for the embedded figure (30)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-letters-") as workdir:
        setup_django(Path(workdir))
        if args.memory_child:
            memory_child(args.memory_child)
            return
        if args.campaign_memory_child:
            campaign_memory_child(args.campaign_memory_child, args.group)
            return
        print(f"== campaign path: {args.letters} letters per round, {args.rounds} rounds, {args.group} a document")
        campaign_throughput(args.letters, args.rounds, args.group)
        print(f"== campaign letter sizes: a batch of {args.size_letters} (load average {os.getloadavg()[0]:.1f})")
        campaign_sizes(args.size_letters, min(args.size_sample, args.size_letters), args.group)
        print("== campaign renderer memory (fresh process per count)")
        campaign_memory([int(size) for size in args.campaign_memory_sizes.split(",")], args.group)
        if args.campaign_only:
            return
        print(f"== throughput: {args.letters} letters per round, {args.rounds} rounds")
        throughput(args.letters, args.rounds)
        full_worker_step(args.letters)
        print("== memory (fresh process per batch size)")
        memory([int(size) for size in args.memory_sizes.split(",")])


if __name__ == "__main__":
    main()
