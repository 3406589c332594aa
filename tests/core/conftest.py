"""Fixtures for the core tests: a rendered letter (the rotation tests store one of each kind of file)."""

from tests.letters.conftest import request_letter  # noqa: F401
