"""The README's first command, scripts/start.sh, run as a newcomer runs it: embedded defaults, demo data printed,
the portal answering on the port it names, and the printed PIN logging in."""

import os
import re
import signal
import subprocess
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]


def _read_until(process: subprocess.Popen, pattern: str, *, seconds: float) -> str:
    """Lines of the script's output up to the one matching pattern (or fail with what it printed)."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if re.search(pattern, line):
            return "".join(seen)
    pytest.fail(f"start.sh never printed {pattern!r}; it printed:\n{''.join(seen)}")


@pytest.fixture
def started(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "PORTAL_PUBLIC_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(PORTAL_PORT=str(port), PORTAL_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        ["scripts/start.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out = _read_until(process, r"Portal on http://127\.0\.0\.1:\d+", seconds=180)
        yield port, out
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def test_start_prints_the_port_it_serves_on_and_the_printed_pin_logs_in(started):
    port, out = started
    assert f"Portal: http://127.0.0.1:{port}/" in out
    assert f"Portal on http://127.0.0.1:{port}" in out
    kvnr, pin = re.search(r"KVNR (\w+)\s+PIN ([\w-]+)\s+\(valid\)", out).groups()

    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    deadline = time.monotonic() + 60
    while True:
        try:
            page = opener.open(f"http://127.0.0.1:{port}/anmelden/", timeout=10).read().decode()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    assert "Musterkasse" in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/anmelden/",
        data=urlencode({"csrfmiddlewaretoken": token, "kvnr": kvnr, "pin": pin}).encode(),
        headers={"Referer": f"http://127.0.0.1:{port}/anmelden/"},
    )
    landed = opener.open(request, timeout=30)
    body = landed.read().decode()
    assert "/anmelden/" not in landed.url, body[:2000]
    assert "Abmelden" in body
