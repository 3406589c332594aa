"""Readiness checks: can this node reach what serving a member needs (database, cache, broker, storage, clamd)?

Each check returns "ok", "skipped" (not configured here) or raises; ready_report() turns that into a JSON-safe
report that names no host, URL, password or error text (error texts can hold connection strings): only the
exception's class.
"""

import socket
import time
import uuid
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connections

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
    """Write, read back and delete a tiny object in the private storage (members' files and letter PDFs)."""
    storage = private_storage()
    name = storage.save(f"readyz/{uuid.uuid4().hex}", ContentFile(b"readyz"))
    try:
        with storage.open(name, "rb") as handle:
            if handle.read() != b"readyz":
                raise RuntimeError("storage did not return what was written")
    finally:
        storage.delete(name)
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


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "storage": check_storage,
    "clamd": check_clamd,
}


def ready_report() -> tuple[bool, dict]:
    """Run every check; ready when none failed. Per check: status, the error's class when down, milliseconds."""
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            entry = {"status": check()}
        except Exception as error:  # any failure means "not ready"; the report says which kind, never its text
            entry = {"status": "down", "error": type(error).__name__}
        entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = entry
    ready = all(entry["status"] != "down" for entry in results.values())
    return ready, {"status": "ready" if ready else "not ready", "checks": results}
