"""Attack mode: while guesses from everywhere exceed the global budget, a login must first pay a proof of work.

Members are never refused for the attack's sake. Instead of a global 429, every login attempt must carry a
solved ALTCHA v2 challenge (PBKDF2/SHA-256, signed with a key derived from SECRET_KEY) before its PIN is
evaluated. The browser solves it when the member presses "Anmelden" (static/js/challenge.js); without
JavaScript the member gets a wait ticket instead: after a short server-given wait the next press goes through.
The cost rises with the guess rate. A challenge and a ticket are good for one attempt (cache.add, atomic on
Redis) and only until their expiry; tickets share one lane, limited per address (see _ticket_issue).

Log events (for log-based metrics): `login.attack_mode.started` (with `attack_level`) and
`login.attack_mode.ended`; `login.attack_mode.level` (with `attack_level`) when the level rises.
"""

import base64
import datetime
import json
import logging
import math
import time
from dataclasses import dataclass

import altcha
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from .throttle import (
    CACHE_ERRORS,
    address_key,
    cache_count,
    login_throttle_block_keys,
    login_throttle_blocked_until_in,
    login_throttle_unavailable,
)

logger = logging.getLogger(__name__)

_STATE_KEY = "web:attack-mode:state"  # {"level": int, "until": float} while attack mode is on
_SEEN_KEY = "web:attack-mode:seen"  # set while on, so that the first look after the end logs "ended"
_USED_PREFIX = "web:attack-mode:used"
_TICKET_SALT = "web.attack.ticket"
_TICKET_SLOT_KEY = "web:attack-mode:ticket-slot"  # one key per claimed slot of the lane
_TICKET_NEXT_KEY = "web:attack-mode:ticket-next"  # where the search for a free slot starts (a hint only)
_TICKET_ADDRESS_KEY = "web:attack-mode:tickets"  # tickets handed to one address in its window
ALGORITHM = "PBKDF2/SHA-256"
MAX_LEVEL = 4


@dataclass(frozen=True)
class Check:
    """What the login view does with an attempt: evaluate it, or show the form again with a way through."""

    passed: bool
    reason: str = ""  # "missing", "invalid", "used", "expired", "level", "early"; "full": no ticket to give now
    wait_seconds: int = 0
    ticket: str = ""


def _secret(purpose: str) -> str:
    return salted_hmac(f"web.attack.{purpose}", "altcha", algorithm="sha256").hexdigest()


def attack_level() -> int:
    """0 while there is no attack; 1..MAX_LEVEL while one goes on, rising with the guess rate."""
    try:
        return _level_in(cache.get_many([_STATE_KEY, _SEEN_KEY]))
    except CACHE_ERRORS:
        # No cache, no global count: attack mode cannot be known, and the per-PIN rule still holds.
        return 0


def _level_in(found: dict) -> int:
    """attack_level from the values of its keys already read from the cache."""
    state = found.get(_STATE_KEY)
    if isinstance(state, dict) and state.get("until", 0) > time.time():
        return int(state.get("level", 1))
    if found.get(_SEEN_KEY):
        cache.delete(_SEEN_KEY)
        logger.warning(
            "login.attack_mode.ended: guesses back under the global budget",
            extra={"event": "login.attack_mode.ended"},
        )
    return 0


@dataclass(frozen=True)
class Gate:
    """What the login view reads from the cache before an attempt."""

    blocked_until: datetime.datetime | None  # the address throttle (web/throttle.py)
    level: int  # attack_level


def login_gate(*, ip: str) -> Gate:
    """The address throttle's block and the attack level, read from the cache in one round trip.

    Each fails open as on its own: with the cache away the address is not blocked and the level is 0.
    """
    keys = login_throttle_block_keys(ip=ip)
    try:
        found = cache.get_many([*keys, _STATE_KEY, _SEEN_KEY])
    except CACHE_ERRORS as error:
        login_throttle_unavailable(error)
        return Gate(blocked_until=None, level=0)
    try:
        level = _level_in(found)
    except CACHE_ERRORS:
        level = 0
    return Gate(blocked_until=login_throttle_blocked_until_in(found=found, keys=keys), level=level)


def attack_note_global_count(*, count: int) -> None:
    """Called by the throttle with the global guess count of its window; starts or raises attack mode."""
    limit = settings.LOGIN_THROTTLE_GLOBAL_LIMIT
    if count < limit:
        return
    level = min(MAX_LEVEL, 1 + int(math.log2(count / limit)))
    until = time.time() + settings.LOGIN_THROTTLE_GLOBAL_WINDOW_SECONDS
    previous = cache.get(_STATE_KEY)
    previous_level = previous.get("level", 0) if isinstance(previous, dict) else 0
    cache.set(
        _STATE_KEY,
        {"level": max(level, previous_level), "until": until},
        timeout=settings.LOGIN_THROTTLE_GLOBAL_WINDOW_SECONDS,
    )
    if cache.add(_SEEN_KEY, 1, timeout=None):
        logger.warning(
            "login.attack_mode.started: %d guesses in the window (budget %d), level %d",
            count, limit, level, extra={"event": "login.attack_mode.started", "attack_level": level},
        )  # fmt: skip
    elif level > previous_level:
        logger.warning(
            "login.attack_mode.level: %d guesses in the window, level %d", count, level,
            extra={"event": "login.attack_mode.level", "attack_level": level},
        )  # fmt: skip


def challenge_cost(level: int) -> int:
    """PBKDF2 iterations per try: doubles with each level (the expected tries stay 256, key prefix "00")."""
    return settings.LOGIN_ATTACK_CHALLENGE_COST * 2 ** max(0, level - 1)


def challenge_create(*, level: int) -> dict:
    """A fresh signed challenge for the browser (the JSON the solver needs), valid a few minutes."""
    challenge = altcha.create_challenge(
        ALGORITHM,
        challenge_cost(level),
        key_prefix="00",
        expires_at=int(time.time()) + settings.LOGIN_ATTACK_CHALLENGE_SECONDS,
        hmac_secret=_secret("challenge"),
        hmac_key_secret=_secret("key"),
    )
    return challenge.to_dict()


def _use_once(name: str, *, expires_at: float) -> bool:
    """True the first time a challenge or ticket is used; atomic (cache.add is SET NX on Redis)."""
    timeout = max(1, int(expires_at - time.time()) + 1)
    try:
        return cache.add(f"{_USED_PREFIX}:{name}", 1, timeout=timeout)
    except CACHE_ERRORS:
        return True


def _check_solution(payload: str, *, level: int) -> str:
    """ "" when the payload solves one of our challenges at the current level's cost, not used before; else why not.

    The cost is checked against the level now: a challenge solved at a lower level is refused once the level
    has risen (the browser then solves a fresh one), so a stock of cheap solutions is worth nothing.
    """
    try:
        result = altcha.verify_solution(payload, _secret("challenge"), hmac_key_secret=_secret("key"))
    except (ValueError, TypeError):
        return "invalid"
    if result.expired:
        return "expired"
    if not result.verified:
        return "invalid"
    data = json.loads(base64.b64decode(payload))
    parameters = data["challenge"]["parameters"]
    if int(parameters.get("cost") or 0) < challenge_cost(level):
        return "level"
    if not _use_once(parameters["nonce"], expires_at=parameters.get("expiresAt") or time.time() + 600):
        return "used"
    return ""


def _address_tag(ip: str) -> str:
    """A short tag of the address a ticket was handed to (IPv6: its /64), bound into the signed ticket."""
    return salted_hmac(_TICKET_SALT, address_key(ip), algorithm="sha256").hexdigest()[:16]


def _ticket_slot(*, earliest: float, latest: float) -> float | None:
    """The time of the first free slot of the one lane between `earliest` and `latest`, claimed; None when full.

    The lane has a slot every 1/LOGIN_ATTACK_TICKETS_PER_SECOND seconds; each slot is claimed by one ticket at
    most (cache.add is SET NX on Redis), so no more tickets become good per second than the lane allows,
    however many are asked for in parallel. The search is bounded by the slots within the longest wait.
    """
    rate = settings.LOGIN_ATTACK_TICKETS_PER_SECOND
    first, last = math.ceil(earliest * rate), math.floor(latest * rate)
    hint = cache.get(_TICKET_NEXT_KEY)
    start = max(first, hint) if isinstance(hint, int) else first
    timeout = math.ceil(latest - time.time()) + 60
    for slot in range(start, last + 1):
        if cache.add(f"{_TICKET_SLOT_KEY}:{slot}", 1, timeout=timeout):
            cache.set(_TICKET_NEXT_KEY, slot + 1, timeout=timeout)
            return slot / rate
    return None


def _ticket_issue(*, ip: str) -> Check:
    """A wait ticket for a login without JavaScript: good after its wait, from the address it was handed to, once.

    Each address gets LOGIN_ATTACK_TICKETS_PER_ADDRESS tickets per LOGIN_ATTACK_TICKET_ADDRESS_WINDOW_SECONDS,
    and all tickets share one lane (_ticket_slot). A ticket is only handed out when its wait is at most
    LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS: when the lane is full, the login is told so ("full") instead of
    getting a ticket it could never use.
    """
    now = time.time()
    window = settings.LOGIN_ATTACK_TICKET_ADDRESS_WINDOW_SECONDS
    try:
        asked = cache_count(f"{_TICKET_ADDRESS_KEY}:{address_key(ip)}", timeout=window)
        if asked > settings.LOGIN_ATTACK_TICKETS_PER_ADDRESS:
            return Check(passed=False, reason="full", wait_seconds=window)
        not_before = _ticket_slot(
            earliest=now + settings.LOGIN_ATTACK_NOJS_WAIT_SECONDS,
            latest=now + settings.LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS,
        )
    except CACHE_ERRORS:
        not_before = now + settings.LOGIN_ATTACK_NOJS_WAIT_SECONDS
    if not_before is None:
        return Check(passed=False, reason="full", wait_seconds=settings.LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS)
    ticket = signing.dumps({"nb": not_before, "a": _address_tag(ip)}, salt=_TICKET_SALT, compress=False)
    return Check(passed=False, reason="", wait_seconds=max(1, math.ceil(not_before - now)), ticket=ticket)


def _check_ticket(ticket: str, *, ip: str) -> tuple[str, int]:
    """("", 0) for a ticket whose wait is over, from its address, not used and not stale; else why not, and the wait."""
    valid = settings.LOGIN_ATTACK_TICKET_VALID_SECONDS
    max_age = settings.LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS + valid
    try:
        value = signing.loads(ticket, salt=_TICKET_SALT, max_age=max_age)
        not_before, tag = float(value["nb"]), str(value["a"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return "invalid", 0
    if tag != _address_tag(ip):
        return "invalid", 0
    now = time.time()
    if now < not_before:
        return "early", math.ceil(not_before - now)
    if now > not_before + valid:
        return "expired", 0
    if not _use_once(f"ticket:{ticket[-43:]}", expires_at=not_before + valid):
        return "used", 0
    return "", 0


def attack_check(*, level: int, payload: str, ticket: str, ip: str) -> Check:
    """Whether this attempt may be evaluated now (always, outside attack mode)."""
    if level <= 0:
        return Check(passed=True)
    if payload:
        reason = _check_solution(payload, level=level)
        if not reason:
            return Check(passed=True)
    elif ticket:
        reason, wait = _check_ticket(ticket, ip=ip)
        if not reason:
            return Check(passed=True)
        if reason == "early":
            return Check(passed=False, reason=reason, wait_seconds=wait, ticket=ticket)
    else:
        reason = "missing"
    issued = _ticket_issue(ip=ip)
    return Check(passed=False, reason=issued.reason or reason, wait_seconds=issued.wait_seconds, ticket=issued.ticket)
