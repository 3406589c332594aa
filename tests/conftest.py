"""Test-wide fixtures: eager Celery by default, a member, and a helper that issues a PIN."""

import os

import pytest
from django.core.cache import cache
from django.test.utils import override_settings
from pytest_django.live_server_helper import LiveServer

from audit.services import Actor
from pins.services import IssuedPin, pin_issue
from portal.celery import app as celery_app
from tests.factories import MemberFactory

pytest_plugins = ["tests.leakscan", "tests.clamav.plugin"]


def pytest_collection_modifyitems(items):
    """Transactional tests (browser, worker, row locks) start from the migrated database.

    Their flush empties every table, also the rows data migrations create (staff roles, submission reasons):
    with serialized_rollback each such test first restores the database as `migrate` left it.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and marker.kwargs.get("transaction"):
            marker.kwargs["serialized_rollback"] = True


@pytest.fixture(scope="session")
def _migrated_contents(django_db_setup):
    """The database as `migrate` left it, serialized by Django at setup (see pytest_collection_modifyitems)."""
    from django.db import connections

    return {alias: getattr(connections[alias], "_test_serialized_contents", None) for alias in connections}


@pytest.fixture
def _restore_migrated_contents(_migrated_contents):
    from django.db import connections

    for alias, contents in _migrated_contents.items():
        if contents is not None:
            connections[alias]._test_serialized_contents = contents


@pytest.fixture
def _django_db_helper(_restore_migrated_contents, _django_db_helper):
    """pytest-django's helper, after handing the serialized database to the current connection objects.

    Django keeps it on the connection object, but once Playwright's sync API runs, this thread sees other
    connection objects (asgiref's Local), and serialized_rollback would silently restore nothing.
    """
    yield


@pytest.fixture(autouse=True)
def _celery_eager(settings):
    """Tasks run in-process unless a test starts a real worker; the broker is never needed by default."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    """Every test writes files to its own temporary folders."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
        "staging": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "staging"), "base_url": None},
        },
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters and other cached state never carry over from one test to the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def live_server(request):
    """pytest-django's live server, started with a MEDIA_URL that Django's live-server thread can parse.

    The portal's MEDIA_URL is None so that no private file ever has a URL; the live-server thread builds a media
    handler from MEDIA_URL when it starts and fails on None. A path no page links to keeps private files unserved.
    """
    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    with override_settings(MEDIA_URL="/__no-media-here__/"):
        server = LiveServer(addr)
    yield server
    server.stop()


@pytest.fixture
def evaluations(monkeypatch):
    """The hashes every real PIN check is evaluated against (dummy checks included), in order, across threads."""
    import threading

    from pins import hashing

    seen: list[str] = []
    lock = threading.Lock()
    original = hashing.verify_pin

    def recording(pin_hash: str, normalized: str) -> bool:
        with lock:
            seen.append(pin_hash)
        return original(pin_hash, normalized)

    monkeypatch.setattr(hashing, "verify_pin", recording)
    return seen


@pytest.fixture
def member(db):
    return MemberFactory()


@pytest.fixture
def issue_pin(db):
    def _issue(member, purpose: str = "Test", **kwargs) -> IssuedPin:
        return pin_issue(member=member, purpose=purpose, actor=Actor.system(), **kwargs)

    return _issue


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright; never a downloaded browser."""
    import os
    import shutil

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(executable):
        pytest.fail("Debian's chromium is not installed; scripts/bootstrap.sh test installs it")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are still sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    page = context.new_page()
    yield page
    context.close()


class _Screens:
    """The worker's check of completed files (uploads.screening), run when the completing call returns.

    In the test's transaction on_commit never fires; a test that wants files left pending sets `auto = False`
    and runs `run()` itself.
    """

    def __init__(self):
        self.auto = True
        self.pending: list[tuple[type, int]] = []

    def run(self) -> None:
        from celery import current_app

        import uploads.tasks  # noqa: F401  (registers the check's tasks)

        while self.pending:
            model, pk = self.pending.pop(0)
            current_app.tasks[model.SCAN_TASK](pk)  # the task the enqueue names, run here


@pytest.fixture(autouse=True)
def screens(monkeypatch):
    from uploads import services
    from uploads.services import receiving

    queue = _Screens()
    queue.enqueue_on_commit = receiving._screen_on_commit  # the real hook, for the test that checks it
    monkeypatch.setattr(receiving, "_screen_on_commit", lambda row: queue.pending.append((type(row), row.pk)))
    append = receiving.upload_append

    def append_then_screen(**kwargs):
        upload = append(**kwargs)
        if queue.auto and queue.pending:
            queue.run()
            upload.refresh_from_db()
        return upload

    # Where it is called: the views and tests through the package, the plain form's upload_store in receiving.
    monkeypatch.setattr(services, "upload_append", append_then_screen)
    monkeypatch.setattr(receiving, "upload_append", append_then_screen)
    return queue
