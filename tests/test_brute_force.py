"""Brute force against the real login view from many addresses: no PIN gets more than five guesses, and the
per-address throttle engages; X-Forwarded-For only names the client when the proxy setting trusts it."""

import itertools
import secrets

import pytest
from django.test import Client
from django.urls import reverse

from pins.constants import PIN_ALPHABET, PinStatus
from tests.factories import MemberFactory

ADDRESSES = [f"203.0.113.{n}" for n in range(1, 41)]


def random_pin() -> str:
    return "".join(secrets.choice(PIN_ALPHABET) for _ in range(12))


def guess(client: Client, kvnr: str, pin: str, **extra) -> int:
    return client.post(reverse("web:login"), {"kvnr": kvnr, "pin": pin}, **extra).status_code


@pytest.mark.django_db
def test_guesses_from_many_addresses_never_evaluate_more_than_five_per_pin(settings, issue_pin, evaluations):
    settings.LOGIN_THROTTLE_GLOBAL_LIMIT = 10_000
    members = [MemberFactory() for _ in range(3)]
    pins = [issue_pin(member) for member in members for _ in range(2)]
    client = Client()
    # The attacker knows the selector (it is not secret) and spreads guesses over 40 addresses.
    targets = itertools.cycle([(p.pin.member.kvnr, p.pin.selector) for p in pins])
    for address, _ in zip(itertools.cycle(ADDRESSES), range(120), strict=False):
        kvnr, selector = next(targets)
        guess(client, kvnr, selector + random_pin()[2:], REMOTE_ADDR=address)
    for issued in pins:
        issued.pin.refresh_from_db()
        assert evaluations.count(issued.pin.pin_hash) <= 5
        assert issued.pin.status == PinStatus.LOCKED


@pytest.mark.django_db
def test_one_address_is_throttled_after_its_limit(settings, member):
    settings.LOGIN_THROTTLE_IP_LIMIT = 8
    client = Client()
    statuses = [guess(client, member.kvnr, random_pin(), REMOTE_ADDR="198.51.100.5") for _ in range(10)]
    assert statuses[:8] == [200] * 8
    assert statuses[8:] == [429, 429]
    assert guess(client, member.kvnr, random_pin(), REMOTE_ADDR="198.51.100.6") == 200


@pytest.mark.django_db
def test_forged_forwarded_for_does_not_escape_the_throttle_without_a_trusted_proxy(settings, member):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.LOGIN_THROTTLE_IP_LIMIT = 5
    client = Client()
    statuses = [
        guess(client, member.kvnr, random_pin(), REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=address)
        for address in ADDRESSES[:8]
    ]
    assert statuses[5:] == [429, 429, 429]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_forwarded_for_names_the_client(settings, member):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_THROTTLE_IP_LIMIT = 5
    client = Client()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    statuses = [
        guess(client, member.kvnr, random_pin(), HTTP_X_FORWARDED_FOR="198.51.100.20", **proxy) for _ in range(6)
    ]
    assert statuses[5] == 429
    assert guess(client, member.kvnr, random_pin(), HTTP_X_FORWARDED_FOR="198.51.100.21", **proxy) == 200


@pytest.mark.django_db
def test_guesses_naming_none_of_a_members_pins_never_lock_them(settings, issue_pin):
    # Whoever knows a KVNR guesses from 40 addresses with selectors the member has no PIN for: nothing locks.
    settings.LOGIN_THROTTLE_GLOBAL_LIMIT = 10_000
    member = MemberFactory()
    pins = [issue_pin(member) for _ in range(3)]
    used = {issued.pin.selector for issued in pins}
    foreign = [a + b for a in PIN_ALPHABET for b in PIN_ALPHABET if a + b not in used]
    client = Client()
    for address, selector in zip(itertools.cycle(ADDRESSES), foreign[:60], strict=False):
        guess(client, member.kvnr, selector + random_pin()[2:], REMOTE_ADDR=address)
    for issued in pins:
        issued.pin.refresh_from_db()
        assert (issued.pin.status, issued.pin.failed_attempts) == (PinStatus.ACTIVE, 0)
    assert guess(client, member.kvnr, pins[0].plaintext, REMOTE_ADDR="192.0.2.99") == 302
