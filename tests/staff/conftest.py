"""Fixtures for staff tests: staff users per role and verified admin clients."""

import pytest
from django.conf import settings as django_settings
from django.test import override_settings

from tests.staff.factories import make_staff, verified_client


@pytest.fixture
def staff_factory(db):
    return make_staff


@pytest.fixture
def staff_client(db):
    """staff_client(role) -> a client logged in with password and TOTP as a new user of that role."""

    def _client(role: str):
        return verified_client(make_staff(role))

    return _client


@pytest.fixture(scope="session", autouse=True)
def _live_server_media_url():
    """settings.MEDIA_URL is None (private storage is never served), but the live server's media handler cannot
    parse None and fails every request: give it a prefix nothing links to while the live server runs.
    (The same fixture is in tests/uploads/conftest.py; it belongs in tests/conftest.py.)"""
    if django_settings.MEDIA_URL is not None:
        yield
        return
    with override_settings(MEDIA_URL="/__no-media__/"):
        yield
