"""Benchmark: documents/s and MB/s through the worker's check (clamd scan + disarm + bookkeeping) vs clamd alone.

    .venv/bin/python bench/scan.py [--rounds 3] [--tiny]

Starts a private clamd with the tests' signature database (tests/clamav/) and its cache of clean verdicts off
(every scan in the run really scans), a throw-away test database (DATABASE_URL's server, or SQLite), builds a
mixed set (PDFs of 0.1-20 MB with text and images, phone-sized JPEG photos), stores each as an upload the
member's way, then times `uploads.screening.file_screen` (what the Celery task runs) against
`scanning.clamd.scan_stream` alone of the same bytes the check scans: what the member sent, the disarmed copy
that is delivered, and a PDF's decoded strings (read back from the round's delivered copies), interleaved per
round. Both are measured in wall time and in CPU seconds: for the check, this process and its children, the
disarm's fork server and its children, and clamd; for clamd alone, clamd and this process (the client). The
CPU ratio is the figure to trust on a busy machine; the load average is printed beside it.
Also prints the peak RSS of the worker process, and of decoding the largest accepted image once and 4 at once
(each in a fresh process).

Before it prints a rate it checks that every timed check did the work: each upload was complete and waiting for
the check when the clock started, and afterwards is clean, checked within the timed window, and stored as a new
disarmed copy that decrypts to a document of its type. --tiny runs the same steps on three small files and skips
the memory figures (tests/bench runs it so).
"""

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from _django import ROOT, setup_test_database

MB = 2**20


def load_average() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it reaped (utime, stime, cutime, cstime); 0 once gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds of this process and its reaped children (the disarm's children when started from scratch)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def fork_server_cpu() -> float:
    from scanning import sandbox

    server = getattr(sandbox, "_fork_server", None)  # none before the fork server existed (older code)
    return process_cpu(server.process.pid) if server is not None else 0.0


def delivered_bytes(upload) -> list[bytes]:
    """What the check scanned besides the sent bytes: the delivered copy, and a PDF's decoded strings (as the
    disarm wrote them for the scan), read back from storage after the round."""
    from scanning.disarm import DecodeBudget, pdf_hidden_data
    from uploads.services import upload_open

    copy = b"".join(upload_open(upload=upload))
    parts = [copy]
    if upload.mime_type == "application/pdf":
        strings = io.BytesIO()
        pdf_hidden_data(io.BytesIO(copy), strings, budget=DecodeBudget().start(len(copy)))
        if strings.getvalue():
            parts.append(strings.getvalue())
    return parts


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; unlike ru_maxrss, a fresh process does not inherit its parent's)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_pdf(size: int, seed: int) -> bytes:
    """Pages of text, each with an incompressible JPEG image, until the file is about `size` bytes."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name
    from PIL import Image

    rnd = os.urandom
    pdf = pikepdf.new()
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    total, page_no = 0, 0
    while total < size * 0.97:
        side = 600 if size - total > 400_000 else 200
        image = Image.frombytes("RGB", (side, side), rnd(side * side * 3))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=85)
        jpeg = buffer.getvalue()
        xobject = pdf.make_stream(jpeg, Type=Name.XObject, Subtype=Name.Image, Width=side, Height=side,
                                  ColorSpace=Name.DeviceRGB, BitsPerComponent=8, Filter=Name.DCTDecode)  # fmt: skip
        text = f"BT /F1 12 Tf 72 800 Td (Seite {page_no} Befund {seed}) Tj ET q 400 0 0 400 90 300 cm /Im0 Do Q"
        page = Dictionary(
            Type=Name.Page,
            MediaBox=Array([0, 0, 595, 842]),
            Resources=Dictionary(Font=Dictionary(F1=font), XObject=Dictionary(Im0=xobject)),
            Contents=pdf.make_stream(text.encode()),
        )
        pdf.pages.append(pikepdf.Page(page))
        total += len(jpeg) + 300
        page_no += 1
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_photo(seed: int) -> bytes:
    """A 12-megapixel phone-like JPEG (4032 x 3024) with EXIF, about 3-5 MB."""
    from PIL import Image, ImageFilter

    small = Image.frombytes("RGB", (504, 378), os.urandom(504 * 378 * 3)).filter(ImageFilter.GaussianBlur(2))
    image = small.resize((4032, 3024), Image.Resampling.BICUBIC)
    noise = Image.frombytes("L", (4032, 3024), os.urandom(4032 * 3024)).convert("RGB")
    image = Image.blend(image, noise, 0.08)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = f"Phone {seed}"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def variant(data: bytes) -> bytes:
    """The same document with a few random bytes after its end (a PDF comment, bytes after a JPEG's EOI)."""
    return data + b"\n%" + os.urandom(8).hex().encode() + b"\n"


def make_small_photo(seed: int) -> bytes:
    """A small JPEG photo with an EXIF orientation, for --tiny."""
    from PIL import Image

    image = Image.frombytes("RGB", (640, 480), os.urandom(640 * 480 * 3))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = f"Phone {seed}"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue()


def file_set(*, tiny: bool = False) -> list[tuple[str, bytes]]:
    if tiny:
        return [(f"befund-{s}MB.pdf", make_pdf(int(s * MB), i)) for i, s in enumerate([0.05, 0.2])] + [
            ("foto-0.jpg", make_small_photo(0))
        ]
    sizes = [0.1, 0.3, 1, 2, 5, 10, 19.5]
    files = [(f"befund-{s}MB.pdf", make_pdf(int(s * MB), i)) for i, s in enumerate(sizes)]
    files += [(f"foto-{i}.jpg", make_photo(i)) for i in range(4)]
    return files


MAGIC = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG"}


def assert_waiting(uploads) -> None:
    """Every upload is complete and waits for the check: the timed call will have the whole check to do."""
    from uploads.constants import SCAN_WAITING, UploadStatus

    for upload in uploads:
        upload.refresh_from_db()
        assert upload.status == UploadStatus.COMPLETE, f"{upload.name}: upload not complete ({upload.status})"
        assert upload.scan_status in SCAN_WAITING, f"{upload.name}: already checked ({upload.scan_status})"


def assert_screened(uploads, *, since, stored_before: dict[int, str]) -> None:
    """Every upload was checked within the timed window and its stored file is now a disarmed copy that decrypts
    to a document of its type (not the received segments, not an early return)."""
    from uploads.constants import ScanStatus
    from uploads.services import upload_open

    for upload in uploads:
        upload.refresh_from_db()
        assert upload.scan_status == ScanStatus.CLEAN, f"{upload.name}: {upload.scan_status}, not clean"
        assert upload.scanned_at is not None and upload.scanned_at >= since, f"{upload.name}: not checked in the run"
        assert upload.storage_name != stored_before[upload.pk], f"{upload.name}: no disarmed copy stored"
        assert not upload.segments, f"{upload.name}: still the received segments"
        content = b"".join(upload_open(upload=upload))
        assert len(content) == upload.size, f"{upload.name}: disarmed copy of {len(content)} bytes, not {upload.size}"
        assert content.startswith(MAGIC[upload.mime_type]), f"{upload.name}: disarmed copy is no {upload.mime_type}"


def largest_accepted_png(path: str) -> str:
    """Write the largest colour PNG the memory budget accepts to `path`; returns its description."""
    from django.conf import settings
    from PIL import Image

    from scanning.disarm import COPIES

    # 4 bytes per pixel while decoded, COPIES copies; smooth content keeps the file far below the size cap.
    side = int((settings.UPLOAD_IMAGE_MEMORY_BUDGET / (4 * COPIES)) ** 0.5)
    gradient = Image.linear_gradient("L").resize((side, side))
    Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90), gradient)).save(path, "PNG")
    return f"{side} x {side} = {side * side / 1e6:.1f} MP, PNG of {os.path.getsize(path) // 1024} KB"


def decode_child(path: str, count: int) -> None:
    """In a fresh process: disarm the image `count` times at once; print the peak RSS before and after, in MB."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from scanning.disarm import image_disarm

    with open(path, "rb") as source:
        data = source.read()
    base = peak_rss_mb()

    def one():
        image_disarm(io.BytesIO(data), io.BytesIO(), mime="image/png", budget=settings.UPLOAD_IMAGE_MEMORY_BUDGET)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{base:.0f} {peak_rss_mb():.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="three small files, no memory figures (smoke test)")
    parser.add_argument("--decode-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--build-set", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_set:
        for name, data in file_set(tiny=args.tiny):
            with open(os.path.join(args.build_set, name), "wb") as out:
                out.write(data)
        return
    if args.decode_child:
        decode_child(args.decode_child[0], int(args.decode_child[1]))
        return

    teardown = setup_test_database()
    sys.path.insert(0, str(ROOT))
    from django.conf import settings
    from django.utils import timezone

    from audit.services import Actor
    from scanning import clamd
    from scanning.sandbox import disarm_isolated
    from tests.clamav import daemon
    from tests.factories import MemberFactory
    from uploads import screening, services
    from uploads.services import receiving

    # Without its cache clamd answers a second scan of the same bytes (a copy that comes out the same each
    # round, clamd alone scanning what the check scanned) from memory, which would time nothing.
    scanner = daemon.start(extra="DisableCache yes\n")
    settings.CLAMD_SOCKET = scanner.socket
    settings.CLAMD_TCP = ""
    # The bench calls the worker's function itself: completing an upload must not hand it to a worker (or, with
    # Celery eager, check it right there, which would leave the timed call nothing to do). The hook is replaced
    # where upload_append calls it; assert_waiting below proves it.
    receiving._screen_on_commit = lambda row: None
    try:
        print("building the file set ...", flush=True)
        # Built in another process, so that the peak RSS below is the worker's own.
        with tempfile.TemporaryDirectory() as folder:
            build = [sys.executable, __file__, "--build-set", folder] + (["--tiny"] if args.tiny else [])
            subprocess.run(build, check=True, capture_output=True)
            files = []
            for name in sorted(os.listdir(folder)):
                with open(os.path.join(folder, name), "rb") as source:
                    files.append((name, source.read()))
        total_mb = sum(len(data) for _, data in files) / MB
        print(f"{len(files)} files, {total_mb:.1f} MB: " + ", ".join(f"{len(d) / MB:.1f}" for _, d in files))
        member = MemberFactory()
        actor = Actor.member(member.user)
        # A worker process checks many files: its disarm fork server is started (and its imports done) before the
        # clock starts, by disarming the first file once.
        with tempfile.TemporaryFile() as src, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as strings:
            src.write(files[0][1])
            src.flush()
            mime = "application/pdf" if files[0][0].endswith(".pdf") else "image/jpeg"
            assert disarm_isolated(src=src, out=out, strings=strings, mime=mime, limits=screening.disarm_limits()).mime
        rss_before = peak_rss_mb()
        pipeline, alone = [], []
        cpu = {"pipeline": 0.0, "alone": 0.0}
        scanned_mb = 0.0
        loads = [load_average()]
        by_kind = {"pdf": [], "jpg": []}
        for round_no in range(args.rounds):
            draft = services.draft_get_or_create(member=member)
            fresh = [(name, variant(data)) for name, data in files]
            uploads = []
            for name, data in fresh:
                upload = services.upload_create(draft=draft, name=name, length=len(data), actor=actor)
                uploads.append(
                    services.upload_append(
                        upload=upload, offset=0, stream=io.BytesIO(data), content_length=len(data), actor=actor
                    )
                )
            assert_waiting(uploads)
            stored_before = {upload.pk: upload.storage_name for upload in uploads}
            since = timezone.now()
            before = own_cpu() + fork_server_cpu() + process_cpu(scanner.process.pid)
            start = time.perf_counter()
            for upload in uploads:
                one = time.perf_counter()
                assert screening.file_screen(row=upload) == "clean"
                by_kind[upload.name.rsplit(".", 1)[-1]].append(time.perf_counter() - one)
            pipeline.append(time.perf_counter() - start)
            cpu["pipeline"] += own_cpu() + fork_server_cpu() + process_cpu(scanner.process.pid) - before
            assert_screened(uploads, since=since, stored_before=stored_before)
            # clamd alone, on the same bytes the check scanned: each file as sent, its delivered copy, its strings.
            same_bytes = []
            for upload, (_name, data) in zip(uploads, fresh, strict=True):
                upload.refresh_from_db()
                same_bytes += [data, *delivered_bytes(upload)]
            scanned_mb = sum(len(data) for data in same_bytes) / MB
            before = own_cpu() + process_cpu(scanner.process.pid)
            start = time.perf_counter()
            for data in same_bytes:
                assert not clamd.scan_stream(io.BytesIO(data)).infected
            alone.append(time.perf_counter() - start)
            cpu["alone"] += own_cpu() + process_cpu(scanner.process.pid) - before
            for upload in uploads:
                services.upload_delete(upload=upload, actor=actor)
            print(
                f"round {round_no + 1}: clamd alone {alone[-1]:.2f} s, scan + disarm {pipeline[-1]:.2f} s", flush=True
            )
        loads.append(load_average())
        worker_peak = peak_rss_mb()
        a, p = statistics.median(alone), statistics.median(pipeline)
        print()
        print(f"load average before / after the rounds: {' / '.join(loads)}")
        print(f"each round: {len(files)} documents, {total_mb:.1f} MB sent; clamd scans {scanned_mb:.1f} MB in all")
        print("  (what was sent, the delivered copy, a PDF's decoded strings), in the check and alone alike")
        print(f"clamd alone:            {len(files) / a:6.2f} documents/s {total_mb / a:7.1f} MB/s")
        print(f"scan + disarm (worker): {len(files) / p:6.2f} documents/s {total_mb / p:7.1f} MB/s")
        print(f"ratio (goal >= 0.8):    {a / p:6.2f}  (wall, medians of {args.rounds} rounds)")
        per_doc = {key: value / (args.rounds * len(files)) for key, value in cpu.items()}
        print(
            f"CPU per document: clamd alone {per_doc['alone'] * 1000:.0f} ms, scan + disarm "
            f"{per_doc['pipeline'] * 1000:.0f} ms (worker, disarm children, clamd); "
            f"ratio (CPU): {per_doc['alone'] / per_doc['pipeline']:.2f}"
        )
        for kind, times in by_kind.items():
            print(f"  scan + disarm per {kind}: median {statistics.median(times) * 1000:.0f} ms")
        print(f"worker peak RSS: {worker_peak:.0f} MB (before the rounds {rss_before:.0f} MB)")
        print(f"checked: {args.rounds * len(files)} uploads clean, each a disarmed copy stored in the timed window")
    finally:
        daemon.stop(scanner)
        teardown()
    if args.tiny:
        return
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "largest.png")
        described = largest_accepted_png(path)
        for count in (1, 4):
            out = subprocess.run(
                [sys.executable, __file__, "--decode-child", path, str(count)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            print(
                f"disarming the largest accepted image ({described}) {count} at once: peak RSS {out[1]} MB, "
                f"{int(out[1]) - int(out[0])} MB above the process before decoding"
            )


if __name__ == "__main__":
    main()
