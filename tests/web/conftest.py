"""Fixtures for the member pages: an empty cache per test (throttle counters) and a signed-in member client."""

import pytest
from django.core.cache import cache
from django.urls import reverse


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def login_post(client, *, kvnr: str, pin: str, **extra):
    return client.post(reverse("web:login"), {"kvnr": kvnr, "pin": pin, **extra})


@pytest.fixture
def signed_in(client, member, issue_pin):
    """A test client signed in as `member` with a fresh PIN; returns (client, issued PIN)."""
    issued = issue_pin(member)
    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)
    assert response.status_code == 302
    return client, issued
