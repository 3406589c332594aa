"""The error pages of web/errors.py: understandable in German and English, rendered without database or session,
and the 503 "try again" page (or JSON for the page scripts) whenever the database is away."""

import pytest
from django.conf import settings
from django.db import connection
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from tests.helpers import database_unreachable, login_member
from uploads import services
from uploads.models import Draft
from web import errors

pytestmark = pytest.mark.django_db


class NoSession:
    """A session that fails the test if an error page reads it."""

    def __getattr__(self, name):
        raise AssertionError(f"the error page used the session ({name})")

    def __contains__(self, key):
        raise AssertionError("the error page used the session")


def bare_request(path: str = "/irgendwo/", **extra):
    request = RequestFactory().get(path, **extra)
    request.session = NoSession()
    return request


@pytest.fixture(autouse=True)
def _german():
    """Pages are asserted in German unless a test asks in English; an English request must not leak on."""
    with translation.override("de"):
        yield


@pytest.fixture
def lenient_client():
    """A client that gets the error response instead of the exception re-raised into the test."""
    return Client(raise_request_exception=False)


@pytest.fixture
def member_client(member, issue_pin):
    client = login_member(Client(raise_request_exception=False), issue_pin(member).pin)
    return client


def test_unknown_address_gets_a_404_page_with_the_hotline(client, settings):
    response = client.get("/gibt-es-nicht/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Diese Seite gibt es nicht" in html
    assert settings.INSURER.hotline_phone in html


def test_404_page_is_english_for_an_english_browser(client):
    response = client.get("/gibt-es-nicht/", HTTP_ACCEPT_LANGUAGE="en")
    assert "This page does not exist" in response.content.decode()


@pytest.mark.parametrize(
    ("handler", "status"),
    [(errors.bad_request, 400), (errors.permission_denied, 403), (errors.page_not_found, 404)],
)
def test_error_pages_render_without_database_or_session(handler, status, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = handler(bare_request(), Http404())
    assert response.status_code == status
    assert settings.INSURER.hotline_phone in response.content.decode()


def test_500_page_renders_without_database_or_session(django_assert_num_queries):
    with django_assert_num_queries(0):
        try:
            raise RuntimeError("a bug")
        except RuntimeError:
            response = errors.server_error(bare_request())
    assert response.status_code == 500
    assert "Das hat leider nicht geklappt" in response.content.decode()


def test_503_page_renders_without_database_or_session(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = errors.service_unavailable(bare_request())
    assert response.status_code == 503


def test_a_bug_in_a_view_gets_the_500_page_without_a_traceback(lenient_client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("web.views.render", broken)
    response = lenient_client.get(reverse("web:start"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Das hat leider nicht geklappt" in html
    assert "secret internals" not in html
    assert "Traceback" not in html


def test_database_down_in_a_view_gets_the_try_again_page(member_client, member, settings):
    # The session is read before the outage: the dashboard's own queries fail.
    with database_unreachable(lambda sql: "members_member" in sql or "pins_letterpin" in sql):
        response = member_client.get(reverse("web:dashboard"))
    html = response.content.decode()
    assert response.status_code == 503
    assert 'id="try-again"' in html
    assert settings.INSURER.hotline_phone in html
    assert "Traceback" not in html and "OperationalError" not in html
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]


def test_database_down_while_a_middleware_reads_the_session_gets_the_try_again_page(member_client):
    # MemberSessionMiddleware reads the session from the database before any view runs.
    with database_unreachable():
        response = member_client.get(reverse("web:dashboard"))
    assert response.status_code == 503
    assert 'id="try-again"' in response.content.decode()


def test_database_down_while_the_session_is_saved_gets_503_not_400(member_client):
    # Django reports a failed session save as SessionInterrupted (a 400) around the database error.
    with database_unreachable(lambda sql: "UPDATE" in sql and "django_session" in sql):
        response = member_client.post(reverse("web:keepalive"), HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["message"]


def test_try_again_page_is_english_for_an_english_browser(member_client):
    with database_unreachable():
        response = member_client.get(reverse("web:dashboard"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Please try again in a moment" in response.content.decode()


def test_database_down_during_login_gets_the_try_again_page(lenient_client, member):
    with database_unreachable():
        response = lenient_client.post(reverse("web:login"), {"kvnr": member.kvnr, "pin": "ABCD-EFGH-JKLM"})
    assert response.status_code == 503
    assert 'id="try-again"' in response.content.decode()


def test_autosave_with_the_database_down_answers_503_json_and_stores_nothing(member_client, member):
    draft = services.draft_get_or_create(member=member)
    # The draft's row is updated, then writing the audit row fails: the update must not stay behind.
    with database_unreachable(lambda sql: sql.lstrip().upper().startswith("INSERT") and "audit" in sql):
        response = member_client.post(
            reverse("uploads:autosave"),
            {"version": draft.version, "message": "nicht gespeichert"},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 503
    assert response.json()["message"]
    stored = Draft.objects.get(pk=draft.pk)
    assert stored.message == draft.message
    assert stored.version == draft.version


def test_tus_patch_with_the_database_down_answers_503_json(member_client):
    created = member_client.post(
        reverse("uploads:tus"), HTTP_UPLOAD_LENGTH="100", HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_METADATA=""
    )
    url = created["Location"]
    with database_unreachable(lambda sql: "uploads_upload" in sql):
        response = member_client.generic(
            "PATCH",
            url,
            b"%PDF-1.4" + b"x" * 10,
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
            HTTP_TUS_RESUMABLE="1.0.0",
        )
    assert response.status_code == 503
    assert response.json()["message"]
    assert member_client.head(url, HTTP_TUS_RESUMABLE="1.0.0")["Upload-Offset"] == "0"


def test_csrf_failure_says_the_page_was_open_too_long(member):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web:login"), {"kvnr": member.kvnr, "pin": "ABCD-EFGH-JKLM"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "Die Seite war zu lange geöffnet" in html
    assert "CSRF" not in html


def test_csrf_failure_of_a_page_script_is_json_with_a_message(member_client):
    client = Client(enforce_csrf_checks=True)
    client.cookies = member_client.cookies
    response = client.post(reverse("uploads:autosave"), {"version": 1}, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert "Bitte laden Sie die Seite neu" in response.json()["message"]


# --- recovery without a restart (PostgreSQL: a backend killed under a persistent connection)


def wsgi_get(path: str, cookie: str = "") -> int:
    """One request through Django's real WSGI handler: request_started/finished run as under gunicorn."""
    from django.core.handlers.wsgi import WSGIHandler

    environ = RequestFactory()._base_environ(PATH_INFO=path, REQUEST_METHOD="GET", HTTP_COOKIE=cookie)
    statuses = []
    response = WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()
    return int(statuses[0].split()[0])


def terminate_django_connection() -> None:
    """Kill the server backend behind Django's connection from another connection, as a PostgreSQL restart does."""
    import psycopg

    pid = connection.connection.info.backend_pid
    params = {k: v for k, v in connection.get_connection_params().items() if k in ("host", "port", "user", "dbname")}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.fixture
def persistent_connections():
    """Production's connection settings: kept for 60 s, health-checked before reuse."""
    settings_dict = connection.settings_dict
    saved = settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"]
    settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"] = 60, True
    connection.close()
    yield settings_dict
    settings_dict["CONN_MAX_AGE"], settings_dict["CONN_HEALTH_CHECKS"] = saved
    connection.close()


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="kills a PostgreSQL backend")


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_after_the_database_connection_was_killed_the_next_request_is_served(persistent_connections, signed_in):
    client, _issued = signed_in
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    assert wsgi_get("/uebersicht/", cookie) == 200
    terminate_django_connection()
    assert wsgi_get("/uebersicht/", cookie) == 200


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_without_health_checks_one_request_gets_503_and_the_next_is_served(persistent_connections, signed_in):
    persistent_connections["CONN_HEALTH_CHECKS"] = False
    connection.close()  # the next connection is opened without health checks
    client, _issued = signed_in
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    assert wsgi_get("/uebersicht/", cookie) == 200
    terminate_django_connection()
    assert wsgi_get("/uebersicht/", cookie) == 503
    assert wsgi_get("/uebersicht/", cookie) == 200


def test_a_request_failed_by_the_outage_is_logged_in_one_line_without_traceback(member_client, caplog):
    with database_unreachable():
        member_client.get(reverse("web:dashboard"))
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records
    assert all(r.exc_info is None and "database unavailable: OperationalError" in r.getMessage() for r in records)
