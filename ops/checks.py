"""Readiness: can this node serve a member? Required are the database, the cache and the broker: without them a
member cannot log in or type. Storage and clamd are reported, not required: a member can still log in and fill the
draft while clamd restarts (uploads wait for the scan) or the object store hiccups, so they never take the node
out of the load balancer; they show in /readyz, /healthz, /metrics and the admin's banner instead.

Each check returns "ok", "skipped" (not configured here) or raises; reports name no host, URL, password or error
text (error texts can hold connection strings): only the exception's class. The required checks run on every
probe; the reported ones write nothing (a HEAD of the bucket, a look at the folders, clamd's PING) and run at most
once per REPORTED_TTL_SECONDS in each process, however often the probes come.
"""

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connections

from core.s3 import is_s3, s3_client, s3_errors
from core.storage import private_storage

# Each check gives up after this many seconds; a probe must answer before the load balancer's own timeout.
TIMEOUT_SECONDS = 2.0


def check_database() -> str:
    for alias in connections:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    return "ok"


def check_cache() -> str:
    key = f"ops:readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "1":
        raise RuntimeError("cache did not return what was written")
    return "ok"


def check_broker() -> str:
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return "skipped"
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    # The project's Celery app (portal/__init__ makes it current), without an import up into portal.
    with current_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    return "ok"


def check_storage() -> str:
    """The private storage (members' files and letter PDFs) can be reached, without writing: the bucket answers a
    HEAD, or the folder (or the folder it will be created in) is a writable directory. The write, read and
    delete round trip is `manage.py storage_setup --check`, run at deployment."""
    storage = private_storage()
    if is_s3(storage):
        with s3_errors():
            s3_client(storage).head_bucket(Bucket=storage.bucket_name)
        return "ok"
    folder = Path(storage.location)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # FileSystemStorage creates the missing folders on the first write
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError("the private storage cannot be written")
    return "ok"


def _clamd_address() -> tuple[int, str | tuple[str, int]] | None:
    tcp = getattr(settings, "CLAMD_TCP", "") or ""
    if tcp:
        host, _, port = tcp.rpartition(":")
        return socket.AF_INET, (host or "127.0.0.1", int(port))
    path = getattr(settings, "CLAMD_SOCKET", "") or ""
    if path:
        return socket.AF_UNIX, path
    return None


def check_clamd() -> str:
    """clamd's PING (CLAMD_TCP "host:port" or CLAMD_SOCKET); skipped when neither is configured."""
    address = _clamd_address()
    if address is None:
        return "skipped"
    family, target = address
    if family == socket.AF_INET:
        connection = socket.create_connection(target, timeout=TIMEOUT_SECONDS)
    else:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(TIMEOUT_SECONDS)
        connection.connect(target)
    with connection:
        connection.sendall(b"zPING\0")
        answer = b""
        while not answer.endswith(b"\0"):
            chunk = connection.recv(64)
            if not chunk:
                break
            answer += chunk
    if answer.rstrip(b"\0\n") != b"PONG":
        raise RuntimeError("clamd did not answer PONG")
    return "ok"


REQUIRED: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}
REPORTED: dict[str, Callable[[], str]] = {
    "storage": check_storage,
    "clamd": check_clamd,
}
REPORTED_TTL_SECONDS = 30.0

_reported: dict[str, tuple[float, dict]] = {}
_reported_for: str = ""
_reported_lock = threading.Lock()


def _reported_configuration() -> str:
    """What the reported checks depend on: a change of it (settings overridden in a test) starts afresh."""
    return repr((getattr(settings, "CLAMD_TCP", ""), getattr(settings, "CLAMD_SOCKET", ""), settings.STORAGES))


def _run(check: Callable[[], str]) -> dict:
    started = time.perf_counter()
    try:
        entry = {"status": check()}
    except Exception as error:  # a probe reports; the error's class says which kind, never its text
        entry = {"status": "down", "error": type(error).__name__}
    entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return entry


def reported_status(*, refresh: bool = True) -> dict[str, dict]:
    """Storage and clamd, each at most REPORTED_TTL_SECONDS old. With refresh=False only what is known already
    (nothing is checked; a check not run yet is left out)."""
    global _reported_for
    now = time.monotonic()
    with _reported_lock:
        if (configuration := _reported_configuration()) != _reported_for:
            _reported.clear()
            _reported_for = configuration
        for name, check in REPORTED.items():
            known = _reported.get(name)
            if refresh and (known is None or now - known[0] >= REPORTED_TTL_SECONDS):
                _reported[name] = (time.monotonic(), _run(check))
        known = dict(_reported)
    report = {}
    for name in REPORTED:
        if name in known:
            checked_at, entry = known[name]
            report[name] = {**entry, "age_s": round(max(0.0, now - checked_at), 1)}
    return report


def forget_reported_status() -> None:
    """Check storage and clamd afresh at the next report (tests; a settings change)."""
    with _reported_lock:
        _reported.clear()


def degraded(report: dict[str, dict]) -> list[str]:
    return [name for name, entry in report.items() if entry["status"] == "down"]


def ready_report() -> tuple[bool, dict]:
    """Ready when no required check failed. Per check: status, the error's class when down, milliseconds; the
    reported checks under "reported" (with their age), and "degraded" naming those that are down."""
    checks = {name: _run(check) for name, check in REQUIRED.items()}
    ready = all(entry["status"] != "down" for entry in checks.values())
    reported = reported_status()
    return ready, {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "reported": reported,
        "degraded": degraded(reported),
    }
