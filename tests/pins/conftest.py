"""Fixtures for the PIN engine's tests: counting Argon2 verifications."""

import pytest
from argon2 import PasswordHasher


@pytest.fixture
def count_argon2(monkeypatch):
    """{"verify": n}: how many Argon2 verifications ran (real and dummy ones) since the fixture started."""
    calls = {"verify": 0}
    original = PasswordHasher.verify

    def counting(self, hash, password):
        calls["verify"] += 1
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls
