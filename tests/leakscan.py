"""Secret-leak scan over the whole test run: no issued PIN may reach SQL, a log line or a task message, and
no KVNR may stand in the URL of a request (the access-log line: method, path and query string).

Every PIN the PIN engine generates during a test is remembered. Everything sent to the database (statements
and parameters, so every row written), every log record (at DEBUG for our apps) and every task message
(arguments and options of apply_async, eager or not) is checked against the PINs of the running test, in
plain, grouped and lower-case form. A find fails that test in its teardown, naming where the PIN was seen.
"""

import logging
import re
import sys
import threading
from urllib.parse import unquote_plus

import pytest
from celery.app.task import Task
from django.core.signals import request_started
from django.db import connections
from django.db.backends.signals import connection_created

import pins.format
import pins.services
from members.kvnr import kvnr_is_valid
from pins.format import pin_display

OUR_LOGGERS = ("core", "members", "audit", "pins", "letters", "uploads", "web", "staff", "portal", "celery")


class _Scanner:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: set[str] = set()
        self.leaks: list[str] = []

    def remember(self, plaintext: str) -> None:
        with self.lock:
            for form in (plaintext, pin_display(plaintext)):
                self.secrets.update({form, form.lower()})

    def check(self, where: str, text: str) -> None:
        if not self.secrets:
            return
        with self.lock:
            for secret in self.secrets:
                if secret in text:
                    self.leaks.append(f"{where}: {text[:300]!r}")
                    return

    def reset(self) -> list[str]:
        with self.lock:
            leaks, self.leaks, self.secrets = self.leaks, [], set()
        return leaks


SCANNER = _Scanner()

# A letter and nine digits (a space between any of them, as people type it), standing alone.
_KVNR_SHAPE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z](?: ?[0-9]){9}(?![A-Za-z0-9])")


def access_log_line(environ) -> str:
    query = environ.get("QUERY_STRING", "")
    return f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}{'?' + query if query else ''}"


def kvnrs_in(line: str) -> list[str]:
    found = (match.group(0).replace(" ", "").upper() for match in _KVNR_SHAPE.finditer(unquote_plus(line)))
    return [kvnr for kvnr in found if kvnr_is_valid(kvnr)]


def _scan_request_line(sender, environ=None, **kwargs) -> None:
    """Every request the suite makes, through the test client or the live server, as its access-log line."""
    if environ is None:
        return
    line = access_log_line(environ)
    if kvnrs_in(line):
        with SCANNER.lock:
            SCANNER.leaks.append(f"KVNR in a URL: {line[:300]!r}")


def _sql_wrapper(execute, sql, params, many, context):
    SCANNER.check("SQL", f"{sql} {params!r}")
    return execute(sql, params, many, context)


def _install_wrapper(connection, **kwargs) -> None:
    if _sql_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.append(_sql_wrapper)


class _LogHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a broken log call is not our concern here
            text = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + repr(record.exc_info[1])
        SCANNER.check(f"log {record.name}", text)


def pytest_configure(config) -> None:
    original_generate = pins.format.pin_generate

    def remembering_generate(*, selector: str) -> str:
        plaintext = original_generate(selector=selector)
        SCANNER.remember(plaintext)
        return plaintext

    # Every module that bound the name at import (pins.format itself, pins.services.issuing, ...) gets the
    # remembering one; a module that moves keeps being watched (the self-tests below fail if none is).
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "pins" and getattr(module, "pin_generate", None) is original_generate:
            module.pin_generate = remembering_generate

    original_apply_async = Task.apply_async

    def scanned_apply_async(self, args=None, kwargs=None, *rest, **options):
        SCANNER.check(f"task {self.name}", f"{args!r} {kwargs!r} {options!r}")
        return original_apply_async(self, args, kwargs, *rest, **options)

    Task.apply_async = scanned_apply_async

    handler = _LogHandler(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    connection_created.connect(_install_wrapper)
    request_started.connect(_scan_request_line, dispatch_uid="leakscan_request_line")


@pytest.fixture(autouse=True)
def _no_secret_leaks(request):
    SCANNER.reset()
    for connection in connections.all(initialized_only=True):
        _install_wrapper(connection)
    yield
    leaks = SCANNER.reset()
    if getattr(request.module, "LEAKSCAN_URLS_ARE_ADVERSARIAL", False):
        # A fuzzer chooses its own URLs, KVNR-shaped values included: those are the client's, not the portal's.
        leaks = [leak for leak in leaks if not leak.startswith("KVNR in a URL")]
    assert not leaks, "an issued PIN or a KVNR leaked:\n" + "\n".join(leaks)
