"""Benchmark: bytes uploaded per photo from the draft page's "Papierdokument fotografieren", with and without the
phone-side resize.

    .venv/bin/python bench/photo_upload.py [--photos 4] [--size 3000x4000] [--quality 92]

Makes --photos phone photos with Pillow (a printed page held over a table, 12 MP portrait by default: light falling
off towards the edges, sensor noise, a little softness, JPEG at --quality as phone cameras save them) and, in the
same run, sends them twice through the real draft page (/antrag/) in Debian's headless Chromium at 375 px, each time
as a new member choosing them with "Fotos auswählen" and waiting until every page is uploaded through tus:

- with the resize: the page as it ships (static/js/photo_pages.js: long edge 2,000 px, JPEG quality 0.8);
- without: the same page in a browser that cannot resize (`window.createImageBitmap` removed before the page's
  scripts run), the path photo_pages.js takes where the browser cannot, sending the original. No switch in the
  product: the bench takes the page's own fallback.

Prints the bytes each photo put on the wire (the tus upload's length; its offset must equal it) both ways, their
total and the ratio, the time the upload would take on a 2 Mbit/s mobile uplink, and the load average. The portal
runs in this process (Django's live-server thread on a throw-away database, DATABASE_URL's server or SQLite) with
an in-memory broker, so the worker's check of each upload is queued and never run: the bench measures what is
sent, not the check. It asserts every photo arrived complete (status complete, offset = length), the originals
byte for byte (SHA-256 as sent) and the resized ones as JPEGs with a long edge of at most 2,000 px. `run(...)` is
importable.
"""

import argparse
import hashlib
import io
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _django import ROOT, setup_test_database

MB = 10**6
UPLINK = 2_000_000  # bits per second: a modest mobile uplink
LONG_EDGE = 2000  # photo_pages.js's LONG_EDGE
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]  # fmt: skip
# The browser without the phone-side resize: photo_pages.js's prepare() keeps the original where it is missing.
NO_RESIZE = "window.createImageBitmap = undefined;"


@dataclass(frozen=True)
class Result:
    originals: list[int]  # bytes of each photo as the camera saved it
    resized: list[int]  # bytes uploaded per photo with the resize
    unresized: list[int]  # and without
    resized_edges: list[int]  # the long edge of each photo as it arrived resized
    seconds: dict[str, float]  # wall seconds from choosing the photos to the last page uploaded, per mode


def phone_photo(seed: int, size: tuple[int, int] = (3000, 4000), quality: int = 92) -> bytes:
    """A phone's photo of a printed page: a sheet (slightly askew) of lines of words on a table, darker towards the
    edges, with sensor noise and a little softness, saved as a phone camera saves a JPEG."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rng = random.Random(seed)
    width, height = size
    grain = ImageChops.add(Image.new("L", size, 120), Image.effect_noise(size, 18), 1, -128)
    table = grain.filter(ImageFilter.GaussianBlur(3))
    photo = Image.merge("RGB", [table.point(lambda v: min(255, v + 40)), table, table.point(lambda v: max(0, v - 20))])
    margin = width * 0.08

    def jitter() -> float:
        return rng.uniform(-width * 0.02, width * 0.02)

    corners = [(margin + jitter(), margin + jitter()), (width - margin + jitter(), margin + jitter()),
               (width - margin + jitter(), height - margin + jitter()), (margin + jitter(), height - margin + jitter())]  # fmt: skip
    sheet = Image.new("L", size, 0)
    ImageDraw.Draw(sheet).polygon(corners, fill=255)
    paper = Image.new("RGB", size, (236, 233, 225))
    ink = ImageDraw.Draw(paper)
    line = max(2, int(height * 0.018))
    y = margin + height * 0.06
    while y < height - margin - height * 0.06:
        if rng.random() < 0.08:  # a paragraph's gap
            y += line
            continue
        x, end = margin + width * 0.06, width - margin - width * 0.06 - rng.uniform(0, width * 0.3)
        while x < end:
            word = rng.uniform(width * 0.015, width * 0.06)
            ink.rectangle((x, y, x + word, y + line * 0.55), fill=(40, 40, 55))
            x += word + width * 0.012
        y += line
    photo.paste(paper, (0, 0), sheet)
    light = Image.radial_gradient("L").resize(size).point(lambda v: 255 - v // 3)
    photo = ImageChops.multiply(photo, Image.merge("RGB", [light] * 3))
    bands = [ImageChops.add(band, Image.effect_noise(size, 10), 1, -128) for band in photo.split()]
    photo = Image.merge("RGB", bands).filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _member_context(browser, server, number: int):
    """A browser context at 375 px logged in as a new bench member (the session the portal's login leaves)."""
    from _members import bench_member_with_pin
    from django.conf import settings
    from django.test import Client

    from tests.helpers import login_member

    issued = bench_member_with_pin(number=number, last_name=f"Foto{number}", purpose="Bench")
    client = login_member(Client(), issued.pin)
    context = browser.new_context(
        base_url=server.url, locale="de-DE", viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": server.url}])
    return context, issued.pin.member


def _send(browser, server, paths: list[Path], *, number: int, resize: bool, timeout: float):
    """Choose the photos on the draft page and wait until every page is uploaded; the member's uploads, in order."""
    from uploads.constants import UploadStatus
    from uploads.models import Upload

    context, member = _member_context(browser, server, number)
    if not resize:
        context.add_init_script(NO_RESIZE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/antrag/")
    page.locator("#photo-composer").wait_for(state="visible")
    assert page.evaluate("typeof window.createImageBitmap") == ("function" if resize else "undefined")
    started = time.perf_counter()
    page.set_input_files("#photo-choose", files=[str(path) for path in paths])
    for number in range(1, len(paths) + 1):  # each page's upload done (its id on the page)
        page.wait_for_selector(f"#photo-pages > li:nth-child({number})[data-page-id*='-']", timeout=timeout * 1000)
    uploads = Upload.objects.filter(draft__member=member)
    deadline = time.monotonic() + timeout
    while uploads.filter(status=UploadStatus.COMPLETE).count() < len(paths):
        assert time.monotonic() < deadline, "the photos did not all arrive in time"
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    ids = page.eval_on_selector_all("#photo-pages > li", "items => items.map(item => item.dataset.pageId)")
    assert not errors, errors
    context.close()
    rows = {str(row.public_id): row for row in uploads}
    assert sorted(rows) == sorted(ids), "the page's photos are not the member's uploads"
    return [rows[public_id] for public_id in ids], seconds


def _received(upload) -> bytes:
    from uploads import services

    return b"".join(services.upload_open(upload=upload))


def run(*, photos: int = 4, size: tuple[int, int] = (3000, 4000), quality: int = 92, timeout: float = 300) -> Result:
    """Send the same photos with and without the resize; checks every upload before returning its figures."""
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"  # the check is queued, never run in the request
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    folder = Path(tempfile.mkdtemp(prefix="bench-photos-"))
    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "sqlite":  # a file: the live server's thread writes while this one reads
        connection.settings_dict["TEST"]["NAME"] = str(folder / "bench.sqlite3")
    teardown = setup_test_database()
    import logging

    from django.test import override_settings
    from PIL import Image
    from playwright.sync_api import sync_playwright
    from pytest_django.live_server_helper import LiveServer

    from uploads.models import SubmissionReason

    for name in ("portal.request", "django.request"):  # one line per request would bury the figures
        logging.getLogger(name).setLevel(logging.ERROR)
    assert SubmissionReason.objects.exists(), "the draft page needs its reasons (seeded by uploads' migration)"
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        paths = []
        for number in range(1, photos + 1):
            path = folder / f"IMG_{number:04d}.jpg"
            path.write_bytes(phone_photo(number, size, quality))
            paths.append(path)
        with override_settings(MEDIA_URL="/__no-media-here__/"):  # see tests/conftest.py's live_server
            server = LiveServer("localhost")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
                resized, with_seconds = _send(browser, server, paths, number=1, resize=True, timeout=timeout)
                unresized, without_seconds = _send(browser, server, paths, number=2, resize=False, timeout=timeout)
                browser.close()
        finally:
            server.stop()
        originals = [path.read_bytes() for path in paths]
        edges = []
        for upload in [*resized, *unresized]:
            assert upload.offset == upload.length > 0, f"{upload.name}: {upload.offset} of {upload.length} bytes"
        for upload, original in zip(unresized, originals, strict=True):
            assert upload.sent_sha256 == hashlib.sha256(original).hexdigest(), f"{upload.name} is not the original"
            assert upload.length == len(original)
        for upload in resized:
            received = _received(upload)
            assert len(received) == upload.length
            with Image.open(io.BytesIO(received)) as image:
                assert image.format == "JPEG", image.format
                edges.append(max(image.size))
        assert all(edge <= LONG_EDGE for edge in edges), edges
        return Result(
            originals=[len(data) for data in originals],
            resized=[upload.length for upload in resized],
            unresized=[upload.length for upload in unresized],
            resized_edges=edges,
            seconds={"with": with_seconds, "without": without_seconds},
        )
    finally:
        teardown()
        shutil.rmtree(folder, ignore_errors=True)


def _size(text: str) -> tuple[int, int]:
    width, _x, height = text.partition("x")
    return int(width), int(height)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=4, help="photos sent each way")
    parser.add_argument("--size", type=_size, default=(3000, 4000), help="each photo's pixels, WxH (12 MP portrait)")
    parser.add_argument("--quality", type=int, default=92, help="the camera's JPEG quality")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    result = run(photos=args.photos, size=args.size, quality=args.quality)
    width, height = args.size
    print(f"bytes uploaded per photo from the draft page in Chromium at 375 px ({args.photos} photos of "
          f"{width} x {height} px, JPEG quality {args.quality}), from {ROOT}")  # fmt: skip
    print("  photo   original   with resize   without resize   ratio with / without")
    for number, (original, small, whole, edge) in enumerate(
        zip(result.originals, result.resized, result.unresized, result.resized_edges, strict=True), start=1
    ):
        print(f"  {number:5d} {original / MB:8.2f} MB {small / MB:9.2f} MB {whole / MB:12.2f} MB {small / whole:14.3f}"
              f"   (resized long edge {edge} px)")  # fmt: skip
    total_small, total_whole = sum(result.resized), sum(result.unresized)
    print(f"  total {sum(result.originals) / MB:8.2f} MB {total_small / MB:9.2f} MB {total_whole / MB:12.2f} MB "
          f"{total_small / total_whole:14.3f}")  # fmt: skip
    print(f"  mean per photo: {total_small / len(result.resized) / 1000:.0f} KB with the resize, "
          f"{total_whole / len(result.unresized) / 1000:.0f} KB without")  # fmt: skip
    print(f"  on a {UPLINK / 1e6:.0f} Mbit/s uplink: {total_small * 8 / UPLINK:.1f} s with the resize, "
          f"{total_whole * 8 / UPLINK:.1f} s without (loopback here: {result.seconds['with']:.1f} s / "
          f"{result.seconds['without']:.1f} s wall, the resize included)")  # fmt: skip
    print(f"  load average before / after: {load[0]:.2f} / {os.getloadavg()[0]:.2f}")
    print(f"checked: {len(result.resized)} + {len(result.unresized)} photos arrived complete (offset = length), "
          f"the originals byte for byte, the resized as JPEGs of at most {LONG_EDGE} px")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
