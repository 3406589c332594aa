"""Fixtures for the member pages: a still clock and a signed-in client."""

import pytest
from django.urls import reverse
from django.utils import timezone


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
