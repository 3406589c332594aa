"""JSON log lines in UTC with the request id; the id comes back in the response and reaches the task's log line."""

import json
import logging
import os
import time

import pytest
from django.http import HttpResponse

from core.logs import ContextFilter, JsonFormatter, request_id_var
from core.requestid import RequestIdMiddleware
from portal.celery import REQUEST_ID_HEADER, _publish_request_id
from portal.celery import app as celery_app

task_logger = logging.getLogger("tests.ops.task")


@celery_app.task(name="tests.ops.log_something")
def log_something() -> None:
    task_logger.info("task ran")


class Lines(logging.Handler):
    """Formats every record as production does (JSON through the context filter) and keeps the lines."""

    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.addFilter(ContextFilter())
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def lines():
    """On the two loggers the tests read (a worker started in a test reconfigures the root logger)."""
    handler = Lines()
    loggers = [logging.getLogger("portal.request"), task_logger]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler.lines
    for logger, level in zip(loggers, previous, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_valid_request_id_is_echoed_and_an_invalid_one_replaced(client):
    response = client.get("/healthz/x", HTTP_X_REQUEST_ID="lb-0123456789abcdef")
    assert response["X-Request-ID"] == "lb-0123456789abcdef"
    response = client.get("/healthz/x", HTTP_X_REQUEST_ID="<script>\nforged log line")
    assert response["X-Request-ID"] != "<script>\nforged log line"
    assert len(response["X-Request-ID"]) == 32


def test_the_request_line_is_json_in_utc_with_route_not_path(client, lines):
    client.get("/datenschutz/?kvnr=T123456789", HTTP_X_REQUEST_ID="req-abcdef0123")
    request_lines = [line for line in lines if line["logger"] == "portal.request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["request_id"] == "req-abcdef0123"
    assert line["route"] == "/datenschutz/"
    assert line["status"] == 200
    assert line["time"].endswith("+00:00")
    assert "T123456789" not in json.dumps(lines)


def test_the_task_a_request_enqueues_logs_the_request_id(rf, lines):
    """Eager here (same process); the worker path goes through the message header (test below and test_worker)."""

    def view(request):
        log_something.delay()
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="req-task-0123456"))
    assert response["X-Request-ID"] == "req-task-0123456"
    task_lines = [line for line in lines if line["message"] == "task ran"]
    assert len(task_lines) == 1
    assert task_lines[0]["request_id"] == "req-task-0123456"
    assert task_lines[0]["task_name"] == "tests.ops.log_something"


def test_publishing_puts_the_request_id_into_the_message_headers():
    headers: dict = {}
    token = request_id_var.set("req-headers-01234")
    try:
        _publish_request_id(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers[REQUEST_ID_HEADER] == "req-headers-01234"
    empty: dict = {}
    _publish_request_id(headers=empty)
    assert empty == {}


@pytest.mark.worker
@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"), reason="needs a Redis broker")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_the_request_id_of_the_request_that_enqueued(rf, lines):
    from celery.contrib.testing.worker import start_worker

    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):

        def view(request):
            log_something.delay()
            return HttpResponse("ok")

        RequestIdMiddleware(view)(rf.get("/", HTTP_X_REQUEST_ID="req-worker-0123456"))
        deadline = time.monotonic() + 60
        while not [line for line in lines if line["message"] == "task ran"] and time.monotonic() < deadline:
            time.sleep(0.1)
    task_lines = [line for line in lines if line["message"] == "task ran"]
    assert len(task_lines) == 1
    assert task_lines[0]["request_id"] == "req-worker-0123456"
    assert task_lines[0]["task_name"] == "tests.ops.log_something"
    assert task_lines[0]["task_id"]
    print(json.dumps(task_lines[0], ensure_ascii=False))


def test_an_extra_named_like_a_field_of_the_line_never_replaces_it():
    record = logging.LogRecord("tests.ops", logging.WARNING, __file__, 1, "attack", None, None)
    record.level = 3
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING"
    assert line["extra_level"] == 3
    assert line["message"] == "attack"
