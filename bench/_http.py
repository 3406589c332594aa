"""Shared by the HTTP benchmarks: a throw-away database, gunicorn on loopback, the login's POST, percentiles."""

import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LOGIN_PATH = "/anmelden/"


def create_database(url: str, prefix: str) -> tuple[str, str]:
    """A new, empty database on DATABASE_URL's server: (its URL, its name).

    With BENCH_TEMPLATE_DATABASE set, a copy of that migrated database instead (see bench/_django.py)."""
    import psycopg

    parsed = urlparse(url)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    template = os.environ.get("BENCH_TEMPLATE_DATABASE", "")
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return parsed._replace(path=f"/{name}").geturl(), name


def drop_database(url: str, name: str) -> None:
    """Drop a database create_database made (closing this process's connections to it first)."""
    import psycopg
    from django.apps import apps

    if apps.ready:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(urlparse(url)._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, *, source: str = HOST, body: str | None = None, headers=None):
    """One request on a new connection from the `source` address: (status, headers, body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def start_gunicorn(
    port: int, env: dict[str, str], *, workers: int = 2, log: Path | None = None, log_level: str | None = "warning"
) -> subprocess.Popen:
    """gunicorn with the portal on loopback, once the login page answers; its output goes to `log` when given."""
    command = [str(Path(sys.executable).with_name("gunicorn")), "portal.wsgi:application"]
    command += ["--workers", str(workers), "--bind", f"{HOST}:{port}"]
    command += ["--log-level", log_level] if log_level else []
    output = {"stdout": log.open("ab"), "stderr": subprocess.STDOUT} if log else {}
    process = subprocess.Popen(command, cwd=ROOT, env=env, **output)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", LOGIN_PATH)[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not answer within 60 seconds")


def django_setup(env: dict[str, str]) -> None:
    """Take env for this process, migrate the database its DATABASE_URL names, and set Django up."""
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()


def cookies_from(headers) -> dict[str, str]:
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def csrf_token(port: int, *, source: str = HOST) -> str:
    _status, headers, _body = request(port, "GET", LOGIN_PATH, source=source)
    return cookies_from(headers)["csrftoken"]


def login_post(port: int, csrf: str, fields: dict[str, str], *, source: str = HOST, forwarded: str | None = None):
    """POST the login form as a browser does (CSRF cookie and header): (status, headers, body)."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"csrftoken={csrf}",
        "X-CSRFToken": csrf,
    }
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return request(port, "POST", LOGIN_PATH, source=source, body=urlencode(fields), headers=headers)


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))
    return ordered[index]
