"""Fixtures for staff tests: staff users per role and verified admin clients."""

import pytest

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
