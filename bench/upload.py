"""Benchmark of chunked uploads through gunicorn over loopback (run by hand: .venv/bin/python bench/upload.py [--s3]).

Prints, measured side by side in one run:
- MB/s of a tus upload (creation, PATCH chunks each encrypted and hashed as it arrives and stored as a segment,
  completion with the PDF check) against the in-run ceiling: the same bytes PATCHed to a bare WSGI app under
  gunicorn that only hashes them (SHA-256), encrypts them (AES-256-GCM in 64 KiB segments) and writes them out,
  the least any upload that hashes and encrypts what it receives must spend here (goal: ratio >= 0.7);
- for reference, a bare sink that only writes, and a raw disk write;
- CPU seconds per GB of the gunicorn worker, for the upload and for the ceiling, and their ratio (goal: the
  upload's within 1.4x of the ceiling's), with the load average before and after the rounds;
- the peak RSS of the gunicorn worker for a 10 MB and a 200 MB upload, each on a fresh server (goal: less
  than 10 MB apart, i.e. memory does not grow with the file).
The portal keeps its database connection across requests (production's CONN_MAX_AGE=60; CONN_MAX_AGE=0 in the
environment opens one per request) and runs with a broker (kombu's in-memory transport), as in production:
completing an upload queues the worker's check (scan + disarm, timed by bench/scan.py) and the web request does
not run it. Without a broker the portal runs Celery eagerly and the check (a second pass: the whole file
decrypted into a temporary file, disarmed, re-encrypted) would run inside the last PATCH; --check-in-request
measures that for comparison.
With --s3 the portal stores in moto's S3 server (started here on a free loopback port) instead of local disk.
The timed steps run interleaved over several rounds on warm servers and the medians are compared, each step
starting from the same page-cache state (see recycle_page_cache). Runs on a throw-away PostgreSQL database of
its own when DATABASE_URL names a server (production's shape: one WAL flush per commit), else on an SQLite file,
with its storage folders in a temporary directory.

Before it prints a rate it checks that every timed step moved the whole file: each tus upload ended complete
with all of the file's bytes received, their SHA-256 recorded as sent, its stored segments decrypting to exactly
the bytes sent (SHA-256 of the stored plaintext) and its check queued for the worker (still pending); the ceiling and the sink
wrote every byte (plus the GCM tags); the raw copy is the file's size. --size-mb, --memory-mb and
--page-cache-mb make it small (tests/bench runs it so).
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
from urllib.parse import urlparse

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


def bench_database(work: Path):
    """The portal's database for the run and a function that drops it: a throw-away PostgreSQL database next to
    DATABASE_URL's (a copy of BENCH_TEMPLATE_DATABASE when set) when that names a server, else an SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{work / 'bench.sqlite3'}", lambda: None
    import psycopg

    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/')}_upload"
    admin = parsed._replace(path="/postgres").geturl()
    template = os.environ.get("BENCH_TEMPLATE_DATABASE", "")

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return parsed._replace(path=f"/{name}").geturl(), drop


def server_env(work: Path, database_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=database_url,
        PORTAL_VAR_DIR=str(work / "var"),
        DEBUG="0",
        LOG_LEVEL="WARNING",
        # Production's default: a worker keeps its database connection instead of opening one per request.
        CONN_MAX_AGE=os.environ.get("CONN_MAX_AGE", "60"),
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
    template = os.environ.get("BENCH_TEMPLATE_SQLITE", "")  # a migrated copy to start from (tests/bench)
    if env["DATABASE_URL"].startswith("sqlite:///"):
        database = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
        if template and not database.exists():
            shutil.copyfile(template, database)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)
    return result.stdout.decode().strip().splitlines()[-1]


def sink_app(environ, start_response):
    """A bare WSGI app that writes the request body to a file: the reference for loopback + gunicorn.

    With BENCH_SINK_WORK=1 it also SHA-256s the bytes and encrypts them with AES-256-GCM in 64 KiB segments (as
    core.crypto does) before writing: the in-run ceiling for an upload that hashes and encrypts what it receives.
    """
    stream, length = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
    work = os.environ.get("BENCH_SINK_WORK") == "1"
    if work:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        aead, digest, counter = AESGCM(b"k" * 32), hashlib.sha256(), 0
    with open(os.environ["BENCH_SINK"], "ab") as out:
        while length > 0:
            block = stream.read(min(MB, length))
            if not block:
                break
            length -= len(block)
            if work:
                digest.update(block)
                for start in range(0, len(block), 64 * 1024):
                    nonce = b"1234567" + counter.to_bytes(4, "big") + b"\0"
                    out.write(aead.encrypt(nonce, block[start : start + 64 * 1024], b""))
                    counter += 1
            else:
                out.write(block)
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

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker so far."""
        fields = Path(f"/proc/{self.worker_pid()}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def send_part(conn: http.client.HTTPConnection, src, *, target: str, length: int, headers: dict[str, str]) -> None:
    """PATCH the next `length` bytes of `src` to `target`, streamed in pieces of 1 MB as a browser sends a chunk."""
    conn.putrequest("PATCH", target)
    for key, value in {**headers, "Content-Length": str(length)}.items():
        conn.putheader(key, value)
    conn.endheaders()
    sent = 0
    while sent < length:
        block = src.read(min(MB, length - sent))
        conn.send(block)
        sent += len(block)


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
            part_headers = {**headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
            send_part(conn, src, target=location, length=length, headers=part_headers)
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
            send_part(conn, src, target="/", length=length, headers={})
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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(MB):
            digest.update(block)
    return digest.hexdigest()


STORED_SHA256 = """
import django
django.setup()
import hashlib
from uploads.models import Upload
from uploads.services import upload_open
upload = Upload.objects.order_by("-id").first()
digest = hashlib.sha256()
for chunk in upload_open(upload=upload):
    digest.update(chunk)
print(digest.hexdigest())
"""


def assert_uploaded(work: Path, path: Path, digest: str, *, env: dict[str, str], queued: bool = True) -> None:
    """The newest upload is complete: all of the file's bytes received (offset = length = the file's size) with the
    file's SHA-256 as sent, its stored segments decrypt to exactly those bytes (SHA-256 of the stored plaintext,
    read back in another process), and (with a broker) its check is queued for the worker, not done."""
    query = (
        'SELECT status, length, "offset", sent_sha256, storage_name, scan_status FROM uploads_upload ORDER BY id DESC'
    )
    if env["DATABASE_URL"].startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(work / "bench.sqlite3") as db:
            row = db.execute(query).fetchone()
    else:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as db:
            row = db.execute(query).fetchone()
    size = path.stat().st_size
    assert row is not None, "no upload stored"
    status, length, offset, sent_sha256, _name, scan_status = row
    assert (status, length, offset, sent_sha256) == ("complete", size, size, digest), f"upload stored as {row[:4]}"
    if not queued:
        return  # the check ran in the request: what is stored now is its disarmed copy, not the bytes sent
    assert scan_status == "pending", f"{path.name}: checked in the web request ({scan_status}), not queued"
    stored = subprocess.run(
        [sys.executable, "-c", STORED_SHA256], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    assert stored == digest, f"{path.name}: the stored plaintext's SHA-256 is {stored}, not the sent {digest}"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def assert_written(target: Path, size: int, *, tagged: bool = False) -> None:
    """The sink (or the ceiling, which adds a 16-byte GCM tag per 64 KiB segment) wrote every byte."""
    expected = size + (16 * -(-size // (64 * 1024)) if tagged else 0)
    written = target.stat().st_size if target.exists() else 0
    assert written == expected, f"{target.name}: {written} bytes written, {expected} expected"


def median(values: list[float]) -> float:
    return statistics.median(values)


def start_moto(env: dict[str, str]) -> tuple[subprocess.Popen, dict[str, str]]:
    """moto's S3 server on a free loopback port and the portal's environment for STORAGE_BACKEND=s3."""
    port = free_port()
    credentials = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-central-1"}
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **credentials},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    s3_env = {
        **env,
        **credentials,
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": "bench",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "S3_REGION": "eu-central-1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "storage_setup"], cwd=ROOT, env=s3_env, check=True, capture_output=True
    )
    return process, s3_env


def empty_bucket(env: dict[str, str]) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        region_name=env["S3_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=env["S3_BUCKET"]):
        for entry in page.get("Contents", ()):
            client.delete_object(Bucket=env["S3_BUCKET"], Key=entry["Key"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-mb", type=int, default=8, help="size of one PATCH (default 8 MB)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the timed steps (default 5)")
    parser.add_argument("--size-mb", type=int, default=200, help="size of the timed upload (default 200 MB)")
    parser.add_argument("--s3", action="store_true", help="store in moto's S3 server instead of local disk")
    parser.add_argument("--small-mb", type=int, default=10, help="the smaller upload of the memory figures")
    parser.add_argument("--memory-mb", type=int, default=200, help="the larger upload of the memory figures")
    parser.add_argument("--page-cache-mb", type=int, default=1024, help="scratch written between steps")
    parser.add_argument(
        "--check-in-request",
        action="store_true",
        help="no broker: Celery eager runs the worker's check inside the last PATCH (the figure before)",
    )
    args = parser.parse_args()
    chunk = args.chunk_mb * MB
    size_mb = args.size_mb
    moto = None
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        work = Path(tmp)
        database_url, drop_database = bench_database(work)
        env = server_env(work, database_url)
        if not args.check_in_request:
            # A broker the web process can send to and nobody consumes: the check is queued, as in production.
            env["CELERY_BROKER_URL"] = "memory://localhost/"
        if args.s3:
            moto, env = start_moto(env)
        queued = not args.check_in_request
        loads = [load_average()]
        try:
            session = member_session(env)
            tiny, small, large = work / "tiny.pdf", work / "small.pdf", work / "large.pdf"
            write_pdf(tiny, 64 * 1024)
            write_pdf(small, args.small_mb * MB)
            write_pdf(large, size_mb * MB)
            large_sha256, large_size = sha256_of(large), large.stat().st_size

            def clear_stored() -> None:
                shutil.rmtree(work / "var" / "private", ignore_errors=True)
                if args.s3:
                    empty_bucket(env)

            # Memory: each size on a fresh server, so the worker's peak RSS belongs to that upload alone.
            memory = {}
            sizes = {"small": f"{args.small_mb} MB", "large": f"{args.memory_mb} MB"}
            for name, path in ((sizes["small"], small), (sizes["large"], work / "rss.pdf")):
                if name == sizes["large"]:
                    write_pdf(path, args.memory_mb * MB)
                server = Server(env)
                try:
                    baseline = server.peak_rss_mb()
                    upload(server.port, session, path, chunk)
                    memory[name] = (baseline, server.peak_rss_mb())
                    assert_uploaded(work, path, sha256_of(path), env=env, queued=queued)
                finally:
                    server.stop()
                clear_stored()

            # Throughput: the steps interleaved round by round on warm servers (the first request of a fresh
            # worker imports the PDF and image libraries), each starting from the same page-cache state.
            portal = Server(env)
            ceiling = Server(
                {**env, "BENCH_SINK": str(work / "ceiling.bin"), "BENCH_SINK_WORK": "1"}, "bench.upload:sink_app"
            )
            sink = Server({**env, "BENCH_SINK": str(work / "sink.bin")}, app="bench.upload:sink_app")
            timings: dict[str, list[float]] = {"upload": [], "ceiling": [], "disk": [], "sink": []}
            cpu = {"upload": 0.0, "ceiling": 0.0}
            try:
                upload(portal.port, session, tiny, chunk)
                sink_upload(sink.port, tiny, chunk)
                sink_upload(ceiling.port, tiny, chunk)
                for name in ("sink.bin", "ceiling.bin"):
                    (work / name).unlink()  # the warm-up's bytes
                scratch = args.page_cache_mb
                for _ in range(args.rounds):
                    recycle_page_cache(work, scratch)
                    before = portal.cpu_seconds()
                    timings["upload"].append(upload(portal.port, session, large, chunk))
                    cpu["upload"] += portal.cpu_seconds() - before
                    assert_uploaded(work, large, large_sha256, env=env, queued=queued)
                    clear_stored()
                    recycle_page_cache(work, scratch)
                    before = ceiling.cpu_seconds()
                    timings["ceiling"].append(sink_upload(ceiling.port, large, chunk))
                    cpu["ceiling"] += ceiling.cpu_seconds() - before
                    assert_written(work / "ceiling.bin", large_size, tagged=True)
                    (work / "ceiling.bin").unlink()
                    recycle_page_cache(work, scratch)
                    timings["disk"].append(raw_write(large, work / "raw-copy.bin"))
                    assert_written(work / "raw-copy.bin", large_size)
                    (work / "raw-copy.bin").unlink()
                    recycle_page_cache(work, scratch)
                    timings["sink"].append(sink_upload(sink.port, large, chunk))
                    assert_written(work / "sink.bin", large_size)
                    (work / "sink.bin").unlink()
                loads.append(load_average())
                # What one request costs besides its bytes (session, middleware, the row's lock and commit): the
                # same small file sent in PATCHes of 4 KB; the ceiling, one bare WSGI call per chunk, has none.
                small_chunk = 4096
                requests = 1 + -(-tiny.stat().st_size // small_chunk)  # the creation and each PATCH
                before = portal.cpu_seconds()
                upload(portal.port, session, tiny, small_chunk)
                per_request = (portal.cpu_seconds() - before) / requests
                assert_uploaded(work, tiny, sha256_of(tiny), env=env, queued=queued)
                clear_stored()
            finally:
                portal.stop()
                ceiling.stop()
                sink.stop()
        finally:
            if moto is not None:
                moto.terminate()
                moto.wait(10)
            drop_database()

    up, top, disk, bare = (median(timings[key]) for key in ("upload", "ceiling", "disk", "sink"))
    gigabytes = args.rounds * size_mb / 1024
    where = "moto's S3 server (loopback)" if args.s3 else "local disk"
    check = "run in the last PATCH (no broker, Celery eager)" if args.check_in_request else "queued for the worker"
    print(
        f"storage: {where}; chunk size per PATCH: {args.chunk_mb} MB, gunicorn 1 sync worker, loopback, "
        f"{'SQLite' if database_url.startswith('sqlite') else 'PostgreSQL'}, "
        f"CONN_MAX_AGE={env['CONN_MAX_AGE']} (0 = a new connection per request)"
    )
    print(f"the worker's check of each upload: {check}; load average before / after the rounds: {' / '.join(loads)}")
    print(f"medians of {args.rounds} interleaved rounds, {size_mb} MB each:")
    print(f"  tus upload (receive, hash, encrypt, store segments, check): {up:6.3f} s {size_mb / up:7.1f} MB/s")
    print(f"  ceiling: bare sink + SHA-256 + AES-GCM + write:            {top:6.3f} s {size_mb / top:7.1f} MB/s")
    print(f"  bare gunicorn sink (receive, write):                      {bare:6.3f} s {size_mb / bare:7.1f} MB/s")
    print(f"  raw disk write (read, write, fsync):                      {disk:6.3f} s {size_mb / disk:7.1f} MB/s")
    print(f"ratio upload/ceiling (wall): {top / up:.2f}  (goal >= 0.7)")
    per_gb = {key: value / gigabytes for key, value in cpu.items()}
    print(
        f"CPU seconds per GB (gunicorn worker): upload {per_gb['upload']:.2f}, ceiling {per_gb['ceiling']:.2f}, "
        f"upload/ceiling {per_gb['upload'] / max(per_gb['ceiling'], 1e-9):.2f}  (goal <= 1.4)"
    )
    patches = 1 + -(-size_mb * MB // chunk)
    fixed = per_request * patches / (size_mb / 1024)
    print(
        f"  of which per request (a PATCH of 4 KB: session, middleware, the row's lock and commit): "
        f"{per_request * 1000:.1f} ms; {patches} requests per {size_mb} MB upload = {fixed:.2f} s/GB; "
        f"the rest {per_gb['upload'] - fixed:.2f} s/GB = {(per_gb['upload'] - fixed) / max(per_gb['ceiling'], 1e-9):.2f}"
        " x the ceiling's"
    )
    for name in sizes.values():
        baseline, peak = memory[name]
        print(f"worker RSS {name:>6}: before {baseline:6.1f} MB, peak {peak:6.1f} MB")
    apart = memory[sizes["large"]][1] - memory[sizes["small"]][1]
    print(f"peak RSS {sizes['large']} - {sizes['small']}: {apart:+.1f} MB  (goal < 10 MB)")
    print(
        f"checked: {args.rounds} uploads complete with the file's SHA-256, every sink and copy wrote all bytes; "
        + ("each stored upload decrypts to the bytes sent" if queued else "the check ran in each last PATCH")
    )


if __name__ == "__main__":
    main()
