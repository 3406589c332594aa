"""Fixtures for the uploads tests: a logged-in member client (session verified by a letter PIN), actor, draft."""

import pytest
from django.test import Client
from django.utils import translation

from audit.services import Actor
from tests.factories import MemberFactory
from tests.helpers import login_member
from uploads import services


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
def _german():
    """Messages are asserted in German, the default; a request in English earlier in the thread must not leak."""
    with translation.override("de"):
        yield


@pytest.fixture
def actor(member):
    return Actor.member(member.user)


@pytest.fixture
def draft(member):
    return services.draft_get_or_create(member=member)
