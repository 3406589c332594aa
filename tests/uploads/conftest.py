"""Fixtures for the uploads tests: a logged-in member client (session verified by a letter PIN)."""

import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse
from django_otp import DEVICE_ID_SESSION_KEY

from pins.auth import SESSION_PIN_KEY
from tests.factories import MemberFactory


def login_member(client: Client, pin) -> Client:
    """Log the PIN's member in as pins.auth.member_login would: user session plus the OTP device."""
    client.force_login(pin.member.user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = pin.persistent_id
    session[SESSION_PIN_KEY] = pin.pk
    session.save()
    return client


@pytest.fixture
def member_client(member, issue_pin):
    return login_member(Client(), issue_pin(member).pin)


@pytest.fixture
def other_member(db):
    return MemberFactory()


@pytest.fixture
def other_client(other_member, issue_pin):
    return login_member(Client(), issue_pin(other_member).pin)


@pytest.fixture(autouse=True)
def _login_url(settings):
    """Redirects to the login page need web's login route, which the web app adds; until then use "/"."""
    try:
        reverse(settings.LOGIN_URL)
    except NoReverseMatch:
        settings.LOGIN_URL = "/"


@pytest.fixture(scope="session", autouse=True)
def _live_server_media_url():
    """settings.MEDIA_URL is None (storage is never served), but the live server's media handler cannot parse
    None and fails every request; give it a prefix nothing links to while the live server starts."""
    if django_settings.MEDIA_URL is not None:
        yield
        return
    with override_settings(MEDIA_URL="/__no-media__/"):
        yield
