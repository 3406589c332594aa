"""Test-wide fixtures: eager Celery by default, a member, and a helper that issues a PIN.

Also the suite's plumbing: each pytest-xdist worker gets its own Redis databases (pytest-django gives it its own
test database), PINs and staff passwords hash with cheap Argon2 parameters except in the tests marked
`production_argon2`, and transactional tests get back the rows data migrations seeded without restoring the
whole serialized database.
"""

import os
import threading
from urllib.parse import urlparse

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test.utils import override_settings
from pytest_django.live_server_helper import LiveServer

from audit.services import Actor
from pins.services import IssuedPin, pin_issue
from portal.celery import app as celery_app
from tests.factories import MemberFactory
from tests.helpers import LIVE_SERVER_TURN

pytest_plugins = ["tests.leakscan", "tests.clamav.plugin"]

# Argon2id at its smallest (1 pass over 8 KiB): a PIN or a staff password hashes in microseconds instead of tens
# of milliseconds. The production parameters stay in force for the tests marked production_argon2.
CHEAP_PIN_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
CHEAP_PASSWORD_HASHERS = ["tests.helpers.CheapArgon2PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
PRODUCTION_ARGON2 = {
    "PIN_ARGON2": dict(django_settings.PIN_ARGON2),
    "PASSWORD_HASHERS": list(django_settings.PASSWORD_HASHERS),
}
REDIS_DATABASES = 16  # Redis's default `databases`


def xdist_worker_index() -> int:
    """0 for pytest-xdist's worker gw0 (or a run without xdist), 1 for gw1, ..."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") else 0


def redis_urls_for_worker(urls: dict[str, str], index: int) -> dict[str, str]:
    """The Redis URLs of `urls` with their database numbers moved for xdist worker `index`.

    The cache is flushed by the tests (cache.clear() is FLUSHDB) and the broker's queue purged by the ones that
    start a Celery worker, so two xdist workers must never share a Redis database. Worker 0 keeps the configured
    numbers; worker n shifts all of them by n times their span (broker /0 and cache /1: gw1 gets /2 and /3).
    """
    databases = {name: int(urlparse(url).path.strip("/") or 0) for name, url in urls.items() if url.startswith("redis")}
    if not databases or index == 0:
        return dict(urls)
    stride = max(databases.values()) - min(databases.values()) + 1
    moved = dict(urls)
    for name, number in databases.items():
        target = number + index * stride
        if target >= REDIS_DATABASES:
            raise pytest.UsageError(
                f"xdist worker gw{index} would need Redis database {target} for {name}: run fewer workers (-n) "
                f"or configure lower database numbers"
            )
        moved[name] = urlparse(urls[name])._replace(path=f"/{target}").geturl()
    return moved


MAX_WORKERS = 4


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """A run over folders (the whole suite, as scripts/test.sh starts it) spreads over the machine's cores.

    pytest-xdist's workers, one more than the machine has cores, up to MAX_WORKERS: part of the suite waits rather
    than computes (on servers and subprocesses it started, on a slow client's minute), and the extra worker runs
    while one waits; each worker costs its own collection, test database and servers, so not more. Its `load` scheduling hands out one test at a time (`--maxschedchunk 1`), in
    the order pytest_collection_modifyitems leaves them, and each worker runs its tests in that order, so
    pytest-django's rule (transactional tests after the others) holds on every worker. Named files or tests run
    in this process; `-n N` chooses, `-n 0` or `-p no:xdist` turns distribution off.
    """
    option = config.option
    if not config.pluginmanager.has_plugin("xdist") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if getattr(option, "maxschedchunk", 0) is None:
        option.maxschedchunk = 1
    if option.numprocesses is not None or option.tx or option.dist != "no":
        return
    if option.usepdb or option.collectonly or getattr(option, "looponfail", False):
        return
    if not all(os.path.isdir(arg.split("::", 1)[0]) for arg in config.args):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if workers_for(cores):
        option.numprocesses = workers_for(cores)


def workers_for(cores: int) -> int:
    """How many xdist workers a machine with `cores` cores gets; 0: the run stays in one process."""
    return min(cores + 1, MAX_WORKERS) if cores > 1 else 0


def transactional(item) -> bool:
    """pytest-django's own test of whether a test runs outside a transaction (it orders those last)."""
    from django.test import TestCase, TransactionTestCase
    from pytest_django.fixtures import validate_django_db

    test_class = getattr(item, "cls", None)
    if test_class and issubclass(test_class, TransactionTestCase):
        return not issubclass(test_class, TestCase)
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        transaction, reset_sequences, *_rest = validate_django_db(marker)
        if transaction or reset_sequences:
            return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


def slow_seconds(item) -> float:
    """The seconds of the test's `slow` mark; 0 for a test without it."""
    marker = item.get_closest_marker("slow")
    return float(marker.args[0]) if marker is not None else 0.0


def run_order(items: list) -> list:
    """`items` in the order to run them: the longest first, in each of the two parts transactional tests demand.

    pytest-django sorts the tests into those in a transaction, the transactional ones, and those without a
    database. Tests without a database can run anywhere, so they join the first part. Within each part the tests
    marked `slow(seconds)` start first, the longest first, each followed by a short test: an xdist worker holds
    the test it runs and the next one, and the next one should not be another long test that waits behind the
    first while other workers have nothing to do. The rest keep their collected order (tests of one module
    together, for its module-scoped fixtures).
    """
    ordered = []
    for part in (False, True):
        tests = [item for item in items if transactional(item) is part]
        slow = sorted((item for item in tests if slow_seconds(item)), key=slow_seconds, reverse=True)
        short = [item for item in tests if not slow_seconds(item)]
        for index, item in enumerate(slow):
            ordered += [item, *short[index : index + 1]]
        ordered += short[len(slow) :]
    return ordered


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the longest tests first (run_order), so that no minute-long test starts while the other workers have
    nothing left to do."""
    items[:] = run_order(items)


def pytest_configure(config):
    """Point this process (and the servers and workers its tests start) at its own Redis databases."""
    configured = {name: os.environ.get(name, "") for name in ("CACHE_URL", "CELERY_BROKER_URL")}
    moved = redis_urls_for_worker(configured, xdist_worker_index())
    if moved == configured:
        return
    os.environ.update(moved)
    overrides = {}
    if moved["CACHE_URL"] != configured["CACHE_URL"]:
        overrides["CACHES"] = {
            **django_settings.CACHES,
            "default": {**django_settings.CACHES["default"], "LOCATION": moved["CACHE_URL"]},
        }
    if moved["CELERY_BROKER_URL"] != configured["CELERY_BROKER_URL"]:
        overrides["CELERY_BROKER_URL"] = moved["CELERY_BROKER_URL"]
        celery_app.conf.broker_url = moved["CELERY_BROKER_URL"]
    override_settings(**overrides).enable()


def pytest_sessionfinish(session):
    """The process that ran the whole session (pytest-xdist's controller, or the only one) removes what the
    workers made once for the run outside its temporary folder: the benches' PostgreSQL template."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not hasattr(session.config, "_tmp_path_factory"):
        return
    from tests.bench.conftest import drop_postgres_template

    drop_postgres_template(session.config._tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2():
    """PINs and staff passwords hash with the cheapest Argon2id the library accepts, for the whole session."""
    with override_settings(PIN_ARGON2=CHEAP_PIN_ARGON2, PASSWORD_HASHERS=CHEAP_PASSWORD_HASHERS):
        yield


@pytest.fixture(scope="session", autouse=True)
def _static_files_listed_once():
    """WhiteNoise lists the static files once per test process, not once for each test client.

    Each django.test.Client loads the middleware anew, and WhiteNoise's middleware, with WHITENOISE_USE_FINDERS
    (every start but production's), lists and stats every file the finders know (the apps' and the admin's, about
    150) and builds their headers: about 65 ms of CPU for each test that sends a request, a sixth of such a test's
    time. The files do not change during a run; the listing is kept for the settings it depends on, and every new
    middleware gets the same entries the scan would have made.
    """
    from whitenoise.middleware import WhiteNoiseMiddleware

    scan = WhiteNoiseMiddleware.add_files_from_finders
    listed: dict[tuple, dict] = {}

    def add_files_from_finders(self):
        key = (
            self.static_prefix,
            self.max_age,
            self.allow_all_origins,
            self.charset,
            self.index_file,
            self.add_headers_function,
            repr(django_settings.STATICFILES_DIRS),
            tuple(django_settings.STATICFILES_FINDERS),
            tuple(django_settings.INSTALLED_APPS),
            repr(django_settings.STORAGES.get("staticfiles")),
            repr(getattr(django_settings, "WHITENOISE_MIMETYPES", None)),
        )
        if key not in listed:
            before = dict(self.files)
            scan(self)
            listed[key] = {url: entry for url, entry in self.files.items() if before.get(url) is not entry}
        self.files.update(listed[key])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(WhiteNoiseMiddleware, "add_files_from_finders", add_files_from_finders)
        yield


@pytest.fixture(autouse=True)
def _production_argon2(request):
    """The tests marked production_argon2 hash with the portal's real parameters."""
    if request.node.get_closest_marker("production_argon2") is None:
        yield
        return
    with override_settings(**PRODUCTION_ARGON2):
        yield


@pytest.fixture(autouse=True)
def _seeded_rows(request):
    """A transactional test starts with the rows data migrations seed (the reasons a member can choose).

    Its flush empties every table; post_migrate, which Django sends after each such flush, brings back content
    types, permissions and the staff roles, but not the reasons. Seeding them again (four rows) replaces
    restoring the whole serialized database before every transactional test (serialized_rollback), which a test
    can still ask for with django_db(transaction=True, serialized_rollback=True).
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction") or marker.kwargs.get("serialized_rollback"):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    import importlib

    from django.apps import apps

    importlib.import_module("uploads.migrations.0002_seed_reasons").seed(apps, None)
    yield


@pytest.fixture(scope="session")
def _migrated_contents(django_db_setup):
    """The database as `migrate` left it, serialized by Django at setup when a test asks for serialized_rollback."""
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
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    """Throttle counters and other cached state never carry over from one test to the next."""
    cache.clear()
    yield
    cache.clear()


class _OneRequestAtATime:
    """A WSGI application that serves one request at a time, holding its turn until the response is sent."""

    def __init__(self, app):
        self.app = app
        self.turn = LIVE_SERVER_TURN

    def __call__(self, environ, start_response):
        self.turn.acquire()
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self.turn.release()
            raise
        return _TurnReleasedOnClose(result, self.turn)


class _TurnReleasedOnClose:
    def __init__(self, result, turn):
        self.result = result
        self.turn = turn

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.turn.release()


@pytest.fixture(scope="session")
def live_server(request, django_db_setup):
    """pytest-django's live server, started with a MEDIA_URL that Django's live-server thread can parse.

    The portal's MEDIA_URL is None so that no private file ever has a URL; the live-server thread builds a media
    handler from MEDIA_URL when it starts and fails on None. A path no page links to keeps private files unserved.
    """
    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    # Started once the test database exists (django_db_setup): Django then sees an in-memory SQLite database and
    # hands it to the server's threads. Started before, the threads would each open the in-memory database
    # afresh, whose shared cache refuses a read beside another connection's write at once ("table is locked").
    with override_settings(MEDIA_URL="/__no-media-here__/"):
        server = LiveServer(addr)
    if server.thread.connections_override:
        # The server's request threads now share one connection: two requests at once (a page uploading two
        # photos) would run their transactions interleaved on it. A file database has a connection per thread and
        # waits for its lock; here the requests take turns instead (and a test's polling reads with them:
        # tests.helpers.LIVE_SERVER_TURN).
        server.thread.httpd.set_app(_OneRequestAtATime(server.thread.httpd.get_app()))
    yield server
    server.stop()


@pytest.fixture
def evaluations(monkeypatch):
    """The hashes every real PIN check is evaluated against (dummy checks included), in order, across threads."""
    from pins import hashing

    seen: list[str] = []
    lock = threading.Lock()
    original = hashing.pin_hash_verify

    def recording(pin_hash: str, normalized: str) -> bool:
        with lock:
            seen.append(pin_hash)
        return original(pin_hash, normalized)

    monkeypatch.setattr(hashing, "pin_hash_verify", recording)
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


class _FileChecks:
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
def file_checks(monkeypatch):
    from uploads import services
    from uploads.services import receiving

    queue = _FileChecks()
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
