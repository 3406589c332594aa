"""Login throttling by client address, and the global guess count behind attack mode (web/attack.py).

Only guesses count: attempts whose PIN did not match (wrong, unknown KVNR, locked PIN). They are counted by
the address they come from and never by KVNR, so guessing a member's KVNR from elsewhere blocks that address,
not the member. Counters live in the Django cache (Redis in production), shared by all workers.

When the cache is unreachable the throttle fails open: logins go on, unthrottled by address, with a warning in
the log. The rule that protects each PIN (five wrong entries lock it) lives in PostgreSQL and holds regardless;
failing closed would lock every member out whenever Redis is away.
"""

import datetime
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What an unreachable cache raises: redis-py's errors for Redis, OSError for anything socket-based.
CACHE_ERRORS = (RedisError, OSError)

_PREFIX = "web:login-throttle"


@dataclass(frozen=True)
class _Rule:
    scope: str
    limit: int
    window: int  # seconds


def _rules(*, ip: str) -> list[tuple[_Rule, str]]:
    """The limits that block: by address only. Everyone together is never blocked (see attack mode)."""
    return [
        (
            _Rule("ip", settings.LOGIN_THROTTLE_IP_LIMIT, settings.LOGIN_THROTTLE_IP_WINDOW_SECONDS),
            address_key(ip),
        ),
    ]


def _global_rule() -> _Rule:
    return _Rule("global", settings.LOGIN_THROTTLE_GLOBAL_LIMIT, settings.LOGIN_THROTTLE_GLOBAL_WINDOW_SECONDS)


def address_key(ip: str) -> str:
    """IPv4 addresses count one by one; an IPv6 host usually owns a whole /64, so that is one address here."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _block_key(rule: _Rule, key: str) -> str:
    return f"{_PREFIX}:block:{rule.scope}:{key}"


def _count_key(rule: _Rule, key: str) -> str:
    return f"{_PREFIX}:count:{rule.scope}:{key}"


def login_throttle_blocked_until(*, ip: str, now: datetime.datetime | None = None) -> datetime.datetime | None:
    """When logins from this address may be tried again, or None when they may be tried now."""
    keys = login_throttle_block_keys(ip=ip)
    try:
        found = cache.get_many(keys)
    except CACHE_ERRORS as error:
        login_throttle_unavailable(error)
        return None
    return login_throttle_blocked_until_in(found=found, keys=keys, now=now)


def login_throttle_block_keys(*, ip: str) -> list[str]:
    """The cache keys that say whether this address is blocked (read with others in one round trip)."""
    return [_block_key(rule, key) for rule, key in _rules(ip=ip)]


def login_throttle_blocked_until_in(
    *, found: dict, keys: list[str], now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """login_throttle_blocked_until from the values of login_throttle_block_keys already read from the cache."""
    now = now or timezone.now()
    until = [value for key, value in found.items() if key in keys and isinstance(value, float)]
    latest = max(until, default=None)
    if latest is None or latest <= now.timestamp():
        return None
    return datetime.datetime.fromtimestamp(latest, tz=datetime.UTC)


def login_throttle_unavailable(error: Exception) -> None:
    # Only the error's type: neither the PIN nor the KVNR ever reaches this module.
    logger.warning(
        "login throttle cache unreachable (%s): login allowed without the address throttle; "
        "the five-entry rule per PIN still holds",
        type(error).__name__,
    )


def cache_count(key: str, *, timeout: int) -> int:
    """Add one to a counter in the cache that lives `timeout` seconds from its first count; returns the count."""
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # The counter expired between add and incr: this count starts a new window.
        cache.set(key, 1, timeout=timeout)
        return 1


def login_throttle_record_guess(
    *, ip: str, now: datetime.datetime | None = None, on_global: Callable[[int], None] | None = None
) -> datetime.datetime | None:
    """Count a PIN guess that did not match; returns the time the address limit blocks logins until.

    The guess also counts for everyone together; `on_global` gets that count (attack mode decides with it).
    """
    now = now or timezone.now()
    blocked_until = None
    rule = _global_rule()
    try:
        count = cache_count(_count_key(rule, "all"), timeout=rule.window)
        if on_global is not None:
            on_global(count)
    except CACHE_ERRORS as error:
        login_throttle_unavailable(error)
        return None
    for rule, key in _rules(ip=ip):
        try:
            count = cache_count(_count_key(rule, key), timeout=rule.window)
            if count < rule.limit:
                continue
            until = now + datetime.timedelta(seconds=rule.window)
            cache.set(_block_key(rule, key), until.timestamp(), timeout=rule.window)
            cache.delete(_count_key(rule, key))
        except CACHE_ERRORS as error:
            login_throttle_unavailable(error)
            return None
        logger.warning("login throttle %s reached for %s until %s", rule.scope, key, until.isoformat())
        blocked_until = max(blocked_until or until, until)
    return blocked_until
