"""Benchmark of chunked uploads through gunicorn over loopback (run by hand: .venv/bin/python bench/upload.py).

Prints, measured side by side in one run:
- MB/s of a tus upload (creation, PATCH chunks, completion with checks and encryption) against a raw write of
  the same bytes to disk (goal: ratio >= 0.5);
- for reference, the same bytes PATCHed to a bare WSGI app under gunicorn that only writes them to a file, and
  the time to SHA-256 them: together the least any upload that hashes what it receives must spend here;
- the peak RSS of the gunicorn worker for a 10 MB and a 200 MB upload, each on a fresh server (goal: less
  than 10 MB apart, i.e. memory does not grow with the file).
The timed steps run interleaved over several rounds on warm servers and the medians are compared, each step
starting from the same page-cache state (see recycle_page_cache). Runs on its own SQLite database and storage
folders in a temporary directory.
"""

import argparse
import hashlib
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def write_pdf(path: Path, size: int) -> None:
    """A valid one-page PDF of about `size` bytes: the bulk is an unreferenced stream of random bytes."""
    body = size - 600
    with path.open("wb") as out:
        offsets = []

        def obj(data: bytes) -> None:
            offsets.append(out.tell())
            out.write(data)

        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        obj(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
        obj(b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
        obj(b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n")
        obj(b"4 0 obj\n<< /Length %d >>\nstream\n" % body)
        remaining = body
        while remaining:
            chunk = os.urandom(min(MB, remaining))
            out.write(chunk)
            remaining -= len(chunk)
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 5\n0000000000 65535 f \n")
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
        out.write(b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(work: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        PORTAL_VAR_DIR=str(work / "var"),
        DEBUG="0",
        LOG_LEVEL="WARNING",
        UPLOAD_MAX_FILE_SIZE=str(300 * MB),
        UPLOAD_MAX_DRAFT_SIZE=str(2000 * MB),
        UPLOAD_MAX_DRAFT_FILES="100",
    )
    return env


def member_session(env: dict[str, str]) -> str:
    """Migrate the bench database, create a member with a PIN and return a verified session cookie value."""
    script = """
import django
django.setup()
from django.conf import settings
from django.test import Client
from audit.services import Actor
from pins.services import pin_issue
from tests.factories import MemberFactory
from tests.helpers import login_member
member = MemberFactory()
client = login_member(Client(), pin_issue(member=member, purpose="bench", actor=Actor.system()).pin)
print(client.cookies[settings.SESSION_COOKIE_NAME].value)
"""
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)
    return result.stdout.decode().strip().splitlines()[-1]


def sink_app(environ, start_response):
    """A bare WSGI app that writes the request body to a file: the reference for loopback + gunicorn."""
    stream, length = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
    with open(os.environ["BENCH_SINK"], "ab") as out:
        while length > 0:
            block = stream.read(min(MB, length))
            if not block:
                break
            out.write(block)
            length -= len(block)
    start_response("204 No Content", [])
    return [b""]


class Server:
    """One gunicorn with one sync worker, so the worker's peak RSS is the upload's."""

    def __init__(self, env: dict[str, str], app: str = "portal.wsgi"):
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), app, "-w", "1", "-b", f"127.0.0.1:{self.port}", "-t", "300"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("gunicorn did not start")

    def worker_pid(self) -> int:
        for _ in range(200):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.05)
        raise RuntimeError("gunicorn started no worker")

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def upload(port: int, session: str, path: Path, chunk_size: int) -> float:
    """Upload the file with tus; returns the seconds from creation to the completed answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    cookie = f"sessionid={session}"
    conn.request("GET", "/antrag/", headers={"Cookie": cookie})
    response = conn.getresponse()
    page = response.read().decode()
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    csrf_cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "").group(1)
    headers = {"Cookie": f"{cookie}; csrftoken={csrf_cookie}", "X-CSRFToken": token, "Tus-Resumable": "1.0.0"}
    size = path.stat().st_size
    started = time.perf_counter()
    conn.request("POST", "/antrag/uploads/", headers={**headers, "Upload-Length": str(size)})
    response = conn.getresponse()
    response.read()
    if response.status != 201:
        raise RuntimeError(f"creation answered {response.status}")
    location = response.getheader("Location").split(str(port), 1)[1]
    offset = 0
    with path.open("rb") as src:
        while offset < size:
            length = min(chunk_size, size - offset)
            conn.putrequest("PATCH", location)
            for key, value in {
                **headers,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
            }.items():
                conn.putheader(key, value)
            conn.endheaders()
            sent = 0
            while sent < length:
                block = src.read(min(MB, length - sent))
                conn.send(block)
                sent += len(block)
            response = conn.getresponse()
            body = response.read()
            if response.status != 204:
                raise RuntimeError(f"PATCH answered {response.status}: {body[:200]!r}")
            offset = int(response.getheader("Upload-Offset"))
    elapsed = time.perf_counter() - started
    if response.getheader("Upload-Complete") != "1":
        raise RuntimeError("upload did not complete")
    return elapsed


def sink_upload(port: int, path: Path, chunk_size: int) -> float:
    """Seconds to PATCH the file in chunks to the bare sink app."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    size, offset = path.stat().st_size, 0
    started = time.perf_counter()
    with path.open("rb") as src:
        while offset < size:
            length = min(chunk_size, size - offset)
            conn.putrequest("PATCH", "/")
            conn.putheader("Content-Length", str(length))
            conn.endheaders()
            sent = 0
            while sent < length:
                block = src.read(min(MB, length - sent))
                conn.send(block)
                sent += len(block)
            conn.getresponse().read()
            offset += length
    return time.perf_counter() - started


def raw_write(path: Path, target: Path) -> float:
    """Seconds to copy the same bytes to a new file on the same disk (read, write, fsync)."""
    started = time.perf_counter()
    with path.open("rb") as src, target.open("wb") as out:
        while block := src.read(MB):
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    return time.perf_counter() - started


def sha256_seconds(path: Path) -> float:
    """Seconds to read the file and compute its SHA-256, which the upload must do once (the receipt shows it)."""
    digest = hashlib.sha256()
    started = time.perf_counter()
    with path.open("rb") as src:
        while block := src.read(MB):
            digest.update(block)
    return time.perf_counter() - started


def recycle_page_cache(work: Path, size_mb: int = 1024) -> None:
    """Write and delete a scratch file, so that the next step writes into page-cache memory already in use.

    On this virtual machine the first write into memory the guest never touched costs several times more than
    a write into recycled pages (measured: 430 against 6,000 MB/s). Without this, whichever step runs first on
    fresh memory loses, and the ratio swings by a factor of three between runs.
    """
    block = os.urandom(MB)
    with (work / "scratch.bin").open("wb") as out:
        for _ in range(size_mb):
            out.write(block)
    (work / "scratch.bin").unlink()


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-mb", type=int, default=8, help="size of one PATCH (default 8 MB)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the timed steps (default 5)")
    args = parser.parse_args()
    chunk = args.chunk_mb * MB
    size_mb = 200
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        work = Path(tmp)
        env = server_env(work)
        session = member_session(env)
        tiny, small, large = work / "tiny.pdf", work / "small.pdf", work / "large.pdf"
        write_pdf(tiny, 64 * 1024)
        write_pdf(small, 10 * MB)
        write_pdf(large, size_mb * MB)

        # Memory: each size on a fresh server, so the worker's peak RSS belongs to that upload alone.
        memory = {}
        for name, path in (("10 MB", small), ("200 MB", large)):
            server = Server(env)
            try:
                baseline = server.peak_rss_mb()
                upload(server.port, session, path, chunk)
                memory[name] = (baseline, server.peak_rss_mb())
            finally:
                server.stop()

        # Throughput: the steps interleaved round by round on warm servers (the first request of a fresh
        # worker imports the PDF and image libraries), each starting from the same page-cache state.
        portal = Server(env)
        sink = Server({**env, "BENCH_SINK": str(work / "sink.bin")}, app="bench.upload:sink_app")
        timings: dict[str, list[float]] = {"upload": [], "disk": [], "sink": [], "sha256": []}
        try:
            upload(portal.port, session, tiny, chunk)
            sink_upload(sink.port, tiny, chunk)
            for _ in range(args.rounds):
                recycle_page_cache(work)
                timings["upload"].append(upload(portal.port, session, large, chunk))
                shutil.rmtree(work / "var" / "private", ignore_errors=True)  # the stored copy from this round
                recycle_page_cache(work)
                timings["disk"].append(raw_write(large, work / "raw-copy.bin"))
                (work / "raw-copy.bin").unlink()
                recycle_page_cache(work)
                timings["sink"].append(sink_upload(sink.port, large, chunk))
                (work / "sink.bin").unlink()
                timings["sha256"].append(sha256_seconds(large))
        finally:
            portal.stop()
            sink.stop()

    up, disk, bare, sha = (median(timings[key]) for key in ("upload", "disk", "sink", "sha256"))
    print(f"chunk size per PATCH: {args.chunk_mb} MB, gunicorn 1 sync worker, loopback, SQLite")
    print(f"medians of {args.rounds} interleaved rounds, {size_mb} MB each:")
    print(f"  tus upload (receive, stage, check, hash, encrypt, store): {up:6.3f} s {size_mb / up:7.1f} MB/s")
    print(f"  raw disk write (read, write, fsync):                     {disk:6.3f} s {size_mb / disk:7.1f} MB/s")
    print(f"  bare gunicorn sink (receive, write):                     {bare:6.3f} s {size_mb / bare:7.1f} MB/s")
    print(f"  SHA-256 of the file:                                     {sha:6.3f} s {size_mb / sha:7.1f} MB/s")
    print(f"ratio upload/disk:  {disk / up:.2f}  (goal >= 0.5)")
    floor = bare + sha
    print(
        f"ceiling: receiving ({bare:.3f} s) and hashing ({sha:.3f} s) alone take {floor:.3f} s, "
        f"so no upload that hashes what it receives can beat a ratio of {disk / floor:.2f} here"
    )
    for name in ("10 MB", "200 MB"):
        baseline, peak = memory[name]
        print(f"worker RSS {name:>6}: before {baseline:6.1f} MB, peak {peak:6.1f} MB")
    apart = memory["200 MB"][1] - memory["10 MB"][1]
    print(f"peak RSS 200 MB - 10 MB: {apart:+.1f} MB  (goal < 10 MB)")


if __name__ == "__main__":
    main()
