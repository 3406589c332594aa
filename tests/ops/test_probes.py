"""/healthz and /readyz: each dependency up and down, real where it can be (Redis, PostgreSQL, the disk, clamd,
moto's S3). The database, cache and broker decide readiness; storage and clamd are reported without it."""

import json
import os
import socket
import threading

import pytest
from django.db import connection
from django.test.utils import override_settings

from ops import checks
from tests.helpers import database_unreachable
from tests.loopback import free_port
from tests.s3.conftest import all_objects, bucket, moto_endpoint, s3_storages  # noqa: F401
from tests.staff.conftest import staff_client  # noqa: F401

REDIS = os.environ.get("CELERY_BROKER_URL", "")
needs_redis = pytest.mark.skipif(not REDIS.startswith("redis://"), reason="needs Redis: set CELERY_BROKER_URL")


def readyz(client):
    response = client.get("/readyz")
    return response.status_code, json.loads(response.content)


def assert_down(report: dict, check: str, *, error: str) -> None:
    """The check is down and names only the exception's class (and its duration), nothing else."""
    assert report["checks"][check] == {"status": "down", "error": error, "ms": report["checks"][check]["ms"]}


@pytest.fixture(autouse=True)
def fresh_reported_status():
    """Each test sees storage and clamd checked afresh (a process keeps their status for 30 s)."""
    checks.forget_reported_status()
    yield
    checks.forget_reported_status()


def test_healthz_answers_without_any_dependency_and_for_any_host(client, settings):
    # No database marker: pytest-django refuses any query, so a probe that touched the database would fail.
    settings.ALLOWED_HOSTS = ["portal.example"]
    away = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=away):
        response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_200_with_every_check_when_all_is_up(client, settings):
    settings.ALLOWED_HOSTS = ["portal.example"]
    status, report = readyz(client)
    assert status == 200, report
    assert report["status"] == "ready"
    assert set(report["checks"]) == {"database", "cache", "broker"}
    assert set(report["reported"]) == {"storage", "clamd"}
    assert report["checks"]["database"]["status"] == "ok"
    assert report["reported"]["storage"]["status"] == "ok"
    assert report["reported"]["clamd"]["status"] == "skipped"  # neither CLAMD_SOCKET nor CLAMD_TCP is set
    assert report["degraded"] == []


@pytest.mark.django_db
def test_readyz_names_no_secret_host_or_error_text(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://:s3cret-broker-pass@127.0.0.1:{free_port()}/0"
    status, _ = readyz(client)
    body = client.get("/readyz").content.decode()
    assert status == 503
    for secret in ("s3cret-broker-pass", "127.0.0.1", connection.settings_dict["NAME"], "refused"):
        assert secret not in body


@pytest.mark.django_db
def test_readyz_is_503_when_the_cache_is_away(client):
    away = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=away):
        status, report = readyz(client)
    assert status == 503
    assert report["checks"]["cache"]["status"] == "down"
    assert report["checks"]["database"]["status"] == "ok"


@needs_redis
@pytest.mark.django_db
def test_readyz_checks_the_redis_cache_and_broker_for_real(client, settings):
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("CACHE_URL", REDIS),
        }
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = REDIS
    with override_settings(CACHES=redis_cache):
        status, report = readyz(client)
    assert status == 200, report
    assert report["checks"]["cache"]["status"] == "ok"
    assert report["checks"]["broker"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_away(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    status, report = readyz(client)
    assert status == 503
    assert_down(report, "broker", error="ConnectionError")


@pytest.mark.django_db
def test_readyz_stays_200_and_reports_storage_that_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage folder should be")  # even root cannot create files below it
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "private"), "base_url": None},
        },
    }
    status, report = readyz(client)
    assert status == 200, report
    assert report["reported"]["storage"]["status"] == "down"
    assert report["degraded"] == ["storage"]
    assert list(tmp_path.iterdir()) == [blocker]
    assert json.loads(client.get("/healthz").content) == {"status": "ok", "degraded": ["storage"]}


@pytest.mark.django_db
def test_readyz_writes_nothing_to_storage(client, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "default"), "base_url": None},
        },
    }
    for _ in range(3):
        checks.forget_reported_status()
        status, report = readyz(client)
        assert status == 200, report
        assert report["reported"]["storage"]["status"] == "ok"
    assert list(tmp_path.rglob("*")) == []  # not even the folders, which the first real write creates


@pytest.mark.django_db
def test_readyz_is_503_when_queries_fail(client):
    with database_unreachable():
        status, report = readyz(client)
    assert status == 503
    assert_down(report, "database", error="OperationalError")


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_when_the_database_connection_breaks_and_200_when_it_is_back(client):
    settings_dict = connection.settings_dict
    saved = dict(settings_dict)
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        status, report = readyz(client)
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)
    assert status == 503
    assert report["checks"]["database"]["status"] == "down"
    assert readyz(client)[0] == 200


class FakeClamd:
    """Answers clamd's zPING on a unix socket (the protocol only; the real clamd is exercised by the scan tests)."""

    def __init__(self, path: str, answer: bytes = b"PONG\0"):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.answer = answer
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.server.accept()
        with conn:
            assert conn.recv(64) == b"zPING\0"
            conn.sendall(self.answer)

    def close(self):
        self.server.close()


@pytest.mark.django_db
def test_readyz_pings_clamd_on_its_socket(client, settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "clamd.sock")
    clamd = FakeClamd(settings.CLAMD_SOCKET)
    try:
        status, report = readyz(client)
    finally:
        clamd.close()
    assert status == 200, report
    assert report["reported"]["clamd"]["status"] == "ok"


@pytest.mark.django_db
def test_readyz_stays_200_when_the_real_clamd_hangs_and_reports_it(client, real_clamd):
    status, report = readyz(client)
    assert status == 200, report
    assert report["reported"]["clamd"]["status"] == "ok"
    real_clamd.pause()  # a clamd that accepts and never answers, as while it reloads its database
    checks.forget_reported_status()
    status, report = readyz(client)
    assert status == 200, report
    assert report["status"] == "ready"
    assert report["reported"]["clamd"]["status"] == "down"
    assert report["degraded"] == ["clamd"]


@pytest.mark.django_db
def test_readyz_stays_200_when_clamd_is_configured_but_away(client, settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "missing.sock")
    status, report = readyz(client)
    assert status == 200
    assert report["reported"]["clamd"]["status"] == "down"
    settings.CLAMD_SOCKET = ""
    settings.CLAMD_TCP = f"127.0.0.1:{free_port()}"
    status, report = readyz(client)
    assert status == 200
    clamd = report["reported"]["clamd"]
    assert clamd == {"status": "down", "error": "ConnectionRefusedError", "ms": clamd["ms"], "age_s": clamd["age_s"]}


@pytest.mark.django_db
def test_storage_and_clamd_are_checked_at_most_once_per_interval_however_often_probed(client, monkeypatch):
    calls = []
    monkeypatch.setitem(checks.REPORTED, "clamd", lambda: calls.append(1) or "ok")
    for _ in range(5):
        assert readyz(client)[0] == 200
    assert calls == [1]
    monkeypatch.setattr(checks, "REPORTED_TTL_SECONDS", 0.0)
    readyz(client)
    assert calls == [1, 1]


@pytest.mark.django_db
def test_metrics_show_storage_and_clamd_up_or_down(client, settings, tmp_path):
    settings.METRICS_TOKEN = "metrics-token-for-the-test"
    settings.CLAMD_SOCKET = str(tmp_path / "missing.sock")
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-the-test").content.decode()
    assert 'portal_dependency_up{dependency="clamd"} 0.0' in body
    assert 'portal_dependency_up{dependency="storage"} 1.0' in body


@pytest.mark.django_db
def test_readyz_on_s3_writes_no_object_and_stays_200_when_the_store_is_away(client, settings, moto_endpoint, bucket):  # noqa: F811
    for _ in range(3):
        checks.forget_reported_status()
        status, report = readyz(client)
        assert status == 200, report
        assert report["reported"]["storage"]["status"] == "ok"
    assert all_objects(moto_endpoint, bucket) == {}
    settings.STORAGES = {**settings.STORAGES, **s3_storages(endpoint=f"http://127.0.0.1:{free_port()}", bucket=bucket)}
    status, report = readyz(client)
    assert status == 200, report
    assert report["reported"]["storage"]["status"] == "down"
    assert report["degraded"] == ["storage"]


@pytest.mark.django_db
def test_the_admin_shows_a_banner_while_clamd_or_storage_is_down_and_none_when_they_answer(
    settings,
    staff_client,  # noqa: F811
    tmp_path,
):
    from django.urls import reverse

    from staff.constants import Role

    settings.CLAMD_SOCKET = str(tmp_path / "clamd.sock")
    clamd = FakeClamd(settings.CLAMD_SOCKET)
    try:
        page = staff_client(Role.CASE_WORKER).get(reverse("admin:index")).content.decode()
    finally:
        clamd.close()
    assert "Virenscanner antwortet gerade nicht" not in page
    assert "Dateiablage antwortet gerade nicht" not in page
    settings.CLAMD_SOCKET = str(tmp_path / "missing.sock")  # a new configuration: checked afresh
    page = staff_client(Role.CASE_WORKER).get(reverse("admin:index")).content.decode()
    assert "Der Virenscanner antwortet gerade nicht" in page
    assert "Dateiablage antwortet gerade nicht" not in page
