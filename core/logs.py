"""Log lines as JSON in UTC, each with the request id (and task) it belongs to, and the context that carries them."""

import contextvars
import datetime
import json
import logging
import re
import uuid

# Set per request by core.requestid.RequestIdMiddleware and per task by the Celery signals in portal/celery.py.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
task_var: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("task", default=("", ""))

# What a client may send as X-Request-ID: a short token of safe characters (a UUID, a load balancer's id).
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

# The line's own fields: an extra of the same name never replaces them (it is written as "extra_<name>").
_LINE_FIELDS = frozenset({"time", "level", "logger", "message", "exception"})

# Attributes every LogRecord has; anything else was passed with extra={...} and is written as a field.
# django.request's "request" extra is left out: its text holds the full path with the query string.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request"}


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID when it is a plausible id; otherwise a new one (never echo arbitrary text)."""
    if header and _VALID_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class ContextFilter(logging.Filter):
    """Adds request_id, task_id and task_name from the current context to every record (on a handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        task_id, task_name = task_var.get()
        if task_id and not getattr(record, "task_id", ""):
            record.task_id = task_id
            record.task_name = task_name
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id, task, extra fields.

    `level` is always the severity: an extra that shares a name with one of the line's own fields is renamed.

    Only what the code logs goes out: no request bodies, headers or query strings are added here.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and value not in ("", None):
                name = f"extra_{key}" if key in _LINE_FIELDS else key
                line[name] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Readable local lines (DEBUG runs): time, level, logger, message, then the ids and request fields."""

    FIELDS = ("method", "route", "status", "duration_ms", "request_id", "task_name")

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = [f"{key}={getattr(record, key)}" for key in self.FIELDS if getattr(record, key, "") not in ("", None)]
        return " ".join([text, *extras]) if extras else text
