"""Fixtures for the member pages: an empty cache per test (throttle counters), a signed-in client, live server."""

import os

import pytest
from django.core.cache import cache
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer


@pytest.fixture(autouse=True)
def _empty_cache():
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
def clock(time_machine):
    """Time stands still until the test shifts it."""
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine


def login_post(client, *, kvnr: str, pin: str, **extra):
    return client.post(reverse("web:login"), {"kvnr": kvnr, "pin": pin, **extra})


@pytest.fixture
def signed_in(client, member, issue_pin):
    """A test client signed in as `member` with a fresh PIN; returns (client, issued PIN)."""
    issued = issue_pin(member)
    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)
    assert response.status_code == 302
    return client, issued
