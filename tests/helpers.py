"""Helpers shared by the tests of several apps: open a member or staff session without a login round-trip, make
the database (or the disk) fail the way an outage does, and make something once for all xdist workers of a run."""

import errno
import fcntl
import os
import shutil
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.test import Client
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from pins.models import LetterPin
from pins.session import SESSION_PIN_KEY, SESSION_SEEN_KEY, SESSION_STARTED_KEY

# In the embedded mode the live server's request threads and the test share the test thread's one SQLite connection
# (tests/conftest.py's live_server): a request holds this turn while it runs, and a test that reads the database
# while the browser may still be sending requests (a polling loop) takes it too.
LIVE_SERVER_TURN = threading.Lock()


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (same algorithm name and format) at the smallest cost, for staff passwords in tests."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1


def login_member(client: Client, pin: LetterPin) -> Client:
    """A session as the portal's login leaves it: the member's user, the PIN as OTP device, running clocks."""
    client.force_login(pin.member.user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = pin.persistent_id
    session[SESSION_PIN_KEY] = pin.pk
    now = timezone.now().timestamp()
    session[SESSION_STARTED_KEY] = now
    session[SESSION_SEEN_KEY] = now
    session.save()
    return client


def login_staff(client: Client, user, device) -> Client:
    """A staff session verified by the user's TOTP device."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


# Transaction bookkeeping still passes, so the test's own transaction (and Django's savepoint rollback) survives.
_BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK")


@contextmanager
def database_unreachable(when: Callable[[str], bool] = lambda sql: True):
    """SQL statements for which `when(sql)` is true fail with OperationalError, as when PostgreSQL is away."""
    original, original_many = CursorWrapper._execute, CursorWrapper._executemany

    def fails(sql: str) -> bool:
        return not sql.lstrip().upper().startswith(_BOOKKEEPING) and when(sql)

    def execute(self, sql, params, *args):
        if fails(sql):
            raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
        return original(self, sql, params, *args)

    def executemany(self, sql, param_list, *args):
        if fails(sql):
            raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
        return original_many(self, sql, param_list, *args)

    with (
        mock.patch.object(CursorWrapper, "_execute", execute),
        mock.patch.object(CursorWrapper, "_executemany", executemany),
    ):
        yield


def disk_error(code: int) -> OSError:
    """The OSError a full (ENOSPC), read-only (EROFS) or forbidden (EACCES) disk raises."""
    return OSError(
        code,
        {errno.ENOSPC: "No space left on device", errno.EROFS: "Read-only file system"}.get(code, "Permission denied"),
    )


def broker_unreachable(monkeypatch, task) -> None:
    """Make `task.apply_async` fail as kombu's Redis transport does when Redis refuses the connection.

    The app publishes through Redis for the test (on a closed port, never reached), in both modes: without
    CELERY_BROKER_URL the configured transport is Celery's in-memory one, whose errors are not Redis's, and what
    the portal counts as "the broker is away" is the configured transport's errors.
    """
    import redis.exceptions
    from celery import current_app

    def unreachable(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting")

    monkeypatch.setattr(task, "apply_async", unreachable)
    monkeypatch.setattr(current_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    # The connection pools were made for the configured transport: drop them now and after the test.
    monkeypatch.setattr(current_app, "_pool", None)
    monkeypatch.setattr(current_app.amqp, "_producer_pool", None)


def run_folder(tmp_path_factory) -> Path:
    """The temporary folder of the whole run: the one pytest-xdist's workers have theirs in, else the session's."""
    basetemp = tmp_path_factory.getbasetemp()
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def once_per_run(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder `name` of the run's temporary folder, filled by `make(folder)` by the first worker that asks.

    Session fixtures run once per xdist worker; what takes seconds of CPU and is the same for every worker (the
    image's static files, a migrated database to copy) is made once for the run instead. The others wait for it
    under a lock; a `make` that failed leaves no mark, and the next worker tries again (and fails the same way).
    """
    folder = run_folder(tmp_path_factory) / name
    done = folder / ".made"
    with open(f"{folder}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder
