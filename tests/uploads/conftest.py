"""Fixtures for the uploads tests: a logged-in member client (session verified by a letter PIN)."""

import pytest
from django.test import Client
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
