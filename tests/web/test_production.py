"""The production settings (PORTAL_PRODUCTION=1), checked in a subprocess: deploy checks, cookies, HSTS."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.production import production_env as production_environment

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/abmelden/", secure=True, headers={"host": "portal.example"})
switched = Client().post(
    "/sprache/", {"language": "en", "next": "/"}, secure=True, headers={"host": "portal.example"}
)
language_cookie = switched.cookies[settings.LANGUAGE_COOKIE_NAME]
print(json.dumps({
    "language_cookie_secure": bool(language_cookie["secure"]),
    "language_cookie_samesite": language_cookie["samesite"],
    "session_cookie_name": settings.SESSION_COOKIE_NAME,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "session_cookie_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "session_cookie_samesite": settings.SESSION_COOKIE_SAMESITE,
    "session_cookie_domain": settings.SESSION_COOKIE_DOMAIN,
    "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "hsts": response.headers.get("Strict-Transport-Security", ""),
}))
"""


@pytest.fixture(scope="module")
def production_env(tmp_path_factory) -> dict[str, str]:
    # A deployment names its virus scanner; without one, check --deploy warns (scanning.W001).
    return production_environment(tmp_path_factory.mktemp("production-var"), CLAMD_TCP="clamav:3310")


@pytest.fixture(scope="module")
def probe(production_env) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=production_env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow(6)
def test_deploy_check_passes_without_warnings(production_env):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_session_cookie_has_the_host_prefix(probe):
    assert probe["session_cookie_name"].startswith("__Host-")
    assert probe["session_cookie_domain"] is None


def test_session_cookie_is_secure_and_http_only(probe):
    assert probe["session_cookie_secure"] is True
    assert probe["session_cookie_httponly"] is True
    assert probe["session_cookie_samesite"] in {"Lax", "Strict"}


def test_csrf_cookie_has_the_host_prefix_and_is_secure(probe):
    assert probe["csrf_cookie_name"].startswith("__Host-")
    assert probe["csrf_cookie_secure"] is True


def test_the_language_cookie_is_secure(probe):
    # Before: the language switch set portal_language without the Secure flag, also in production.
    assert probe["language_cookie_secure"] is True
    assert probe["language_cookie_samesite"] == "Lax"


def test_hsts_is_one_year_with_subdomains(probe):
    assert probe["hsts"].startswith("max-age=31536000; includeSubDomains")


@pytest.mark.django_db
def test_login_sets_the_session_cookie_with_host_prefix_secure_and_http_only(client, settings, member, issue_pin):
    settings.SESSION_COOKIE_NAME = "__Host-sessionid"
    settings.SESSION_COOKIE_SECURE = True
    issued = issue_pin(member)

    response = client.post("/anmelden/", {"kvnr": member.kvnr, "pin": issued.plaintext}, secure=True)

    cookie = response.cookies["__Host-sessionid"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["path"] == "/"
    assert cookie["domain"] == ""
