"""Argon2id hashing of PINs with parameters from settings, and a dummy verification for attempts with no PIN."""

import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings


def _params() -> tuple[int, int, int]:
    cfg = settings.PIN_ARGON2
    return cfg["time_cost"], cfg["memory_cost"], cfg["parallelism"]


@lru_cache(maxsize=4)
def _hasher(params: tuple[int, int, int]) -> PasswordHasher:
    time_cost, memory_cost, parallelism = params
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)


@lru_cache(maxsize=4)
def _dummy_hash(params: tuple[int, int, int]) -> str:
    return _hasher(params).hash(secrets.token_urlsafe(16))


def hasher() -> PasswordHasher:
    return _hasher(_params())


def pin_hash_create(normalized: str) -> str:
    return hasher().hash(normalized)


def pin_hash_verify(pin_hash: str, normalized: str) -> bool:
    """One Argon2 verification; False for a wrong PIN or a hash that cannot be read."""
    try:
        return hasher().verify(pin_hash, normalized)
    except (VerificationError, InvalidHashError):
        return False


def pin_hash_verify_dummy(normalized: str) -> None:
    """Spend the same work as a real verification, so that no answer is faster than another."""
    pin_hash_verify(_dummy_hash(_params()), normalized)


def pin_hash_needs_rehash(pin_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(pin_hash)
    except InvalidHashError:
        return True
