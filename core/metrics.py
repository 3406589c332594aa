"""Prometheus counters that code in any app increments (logins by outcome, upload bytes, request latencies).

Gauges read from the database (PINs, letters, queues) are computed at scrape time by ops.collectors instead.
Under gunicorn every worker writes its values to PROMETHEUS_MULTIPROC_DIR (set by deploy/gunicorn.conf.py) and
the scrape adds them up. Labels are fixed vocabularies (outcomes, methods, route patterns, status codes): never a
KVNR, a PIN, a name or a path a member typed.
"""

from prometheus_client import Counter, Histogram

LOGINS = Counter("portal_logins", "Member login attempts by outcome (pins VerifyResult).", ["outcome"])
UPLOAD_BYTES = Counter("portal_upload_bytes", "Bytes received in upload requests that were accepted.")
UPLOAD_SECONDS = Histogram(
    "portal_upload_request_duration_seconds",
    "Duration of accepted upload requests (each tus PATCH, each plain-form upload).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds",
    "Request latency by method, route pattern and status code.",
    ["method", "route", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def login_counted(outcome: str) -> None:
    """One login attempt with its outcome (a VerifyResult value, or "throttled")."""
    LOGINS.labels(outcome=str(outcome)).inc()


def upload_counted(*, size: int, seconds: float) -> None:
    """An accepted upload request of `size` bytes that took `seconds`."""
    UPLOAD_BYTES.inc(max(size, 0))
    UPLOAD_SECONDS.observe(seconds)
