"""Login throttling in web/throttle.py: per-address limits and the 429 page; the global count feeds attack mode."""

import datetime

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from pins.models import LetterPin
from tests.factories import make_kvnr
from web.throttle import login_throttle_blocked_until, login_throttle_record_guess

from .conftest import login_post

UNKNOWN_KVNR = make_kvnr(88_888_888)
LOGIN = reverse("web:login")


# Limits


def test_address_is_blocked_for_the_window_after_the_limit(settings):
    settings.LOGIN_THROTTLE_IP_LIMIT = 3
    settings.LOGIN_THROTTLE_IP_WINDOW_SECONDS = 600
    now = timezone.now()

    for _ in range(3):
        login_throttle_record_guess(ip="203.0.113.5", now=now)

    until = login_throttle_blocked_until(ip="203.0.113.5", now=now)
    assert until is not None
    assert abs((until - now) - datetime.timedelta(seconds=600)) < datetime.timedelta(seconds=1)


def test_address_below_the_limit_is_not_blocked(settings):
    settings.LOGIN_THROTTLE_IP_LIMIT = 3

    for _ in range(2):
        login_throttle_record_guess(ip="203.0.113.5")

    assert login_throttle_blocked_until(ip="203.0.113.5") is None


def test_block_of_one_address_leaves_other_addresses_alone(settings):
    settings.LOGIN_THROTTLE_IP_LIMIT = 2

    for _ in range(2):
        login_throttle_record_guess(ip="203.0.113.5")

    assert login_throttle_blocked_until(ip="203.0.113.6") is None


def test_ipv6_addresses_of_one_slash_64_count_together(settings):
    settings.LOGIN_THROTTLE_IP_LIMIT = 2

    login_throttle_record_guess(ip="2001:db8:1:2::1")
    login_throttle_record_guess(ip="2001:db8:1:2:ffff::9")

    assert login_throttle_blocked_until(ip="2001:db8:1:2::abcd") is not None
    assert login_throttle_blocked_until(ip="2001:db8:1:3::1") is None


def test_the_global_count_never_blocks_anyone_and_is_handed_to_attack_mode(settings):
    # Before: 3 guesses over the global limit gave every address, members included, a 429 (issue 13.1).
    settings.LOGIN_THROTTLE_GLOBAL_LIMIT = 3
    counts = []

    for n in range(5):
        login_throttle_record_guess(ip=f"203.0.113.{n}", on_global=counts.append)

    assert login_throttle_blocked_until(ip="198.51.100.200") is None
    assert counts == [1, 2, 3, 4, 5]


def test_block_ends_when_its_time_has_passed(settings, time_machine):
    settings.LOGIN_THROTTLE_IP_LIMIT = 1
    settings.LOGIN_THROTTLE_IP_WINDOW_SECONDS = 60
    time_machine.move_to(timezone.now(), tick=False)
    login_throttle_record_guess(ip="203.0.113.5")

    time_machine.shift(61)

    assert login_throttle_blocked_until(ip="203.0.113.5") is None


# Through the login view


@pytest.mark.django_db
def test_blocked_address_gets_the_too_many_attempts_page_with_the_time(client, settings, time_machine):
    settings.LOGIN_THROTTLE_IP_LIMIT = 2
    settings.LOGIN_THROTTLE_IP_WINDOW_SECONDS = 900
    time_machine.move_to(datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC), tick=False)
    for _ in range(2):
        login_post(client, kvnr=UNKNOWN_KVNR, pin="ABCD-EFGH-JKLM")

    response = login_post(client, kvnr=UNKNOWN_KVNR, pin="ABCD-EFGH-JKLM")

    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    # 10:15 UTC is 11:15 in Berlin in March.
    assert "um 11:15 Uhr" in response.content.decode()


@pytest.mark.django_db
def test_blocked_address_is_not_checked_against_any_pin(client, settings, member, issue_pin):
    settings.LOGIN_THROTTLE_IP_LIMIT = 1
    issued = issue_pin(member)
    login_post(client, kvnr=UNKNOWN_KVNR, pin="ABCD-EFGH-JKLM")

    response = login_post(client, kvnr=member.kvnr, pin="ABCD-EFGH-JKLM")

    assert response.status_code == 429
    assert LetterPin.objects.get(pk=issued.pin.pk).failed_attempts == 0


@pytest.mark.django_db
def test_matched_pins_do_not_count_as_guesses(client, settings, member, issue_pin):
    settings.LOGIN_THROTTLE_IP_LIMIT = 1
    issued = issue_pin(
        member, now=timezone.now() - datetime.timedelta(days=62)
    )  # past its last day at any hour (days count in Berlin)
    login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert response.status_code == 200


@pytest.mark.django_db
def test_malformed_entries_do_not_count_as_guesses(client, settings):
    settings.LOGIN_THROTTLE_IP_LIMIT = 1
    login_post(client, kvnr="A12", pin="ABCD-EFGH-JKLM")

    response = login_post(client, kvnr="A12", pin="ABCD-EFGH-JKLM")

    assert response.status_code == 200


@pytest.mark.django_db
def test_guessing_a_members_kvnr_from_elsewhere_does_not_block_the_member(client, settings, member, issue_pin):
    settings.LOGIN_THROTTLE_IP_LIMIT = 2
    issued = issue_pin(member)
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    for _ in range(3):
        client.post(reverse("web:login"), {"kvnr": member.kvnr, "pin": "ZZZZ-ZZZZ-ZZZZ"}, **attacker)

    response = client.post(
        reverse("web:login"), {"kvnr": member.kvnr, "pin": issued.plaintext}, REMOTE_ADDR="198.51.100.20"
    )

    assert response.status_code == 302


@pytest.mark.django_db
def test_five_entries_with_a_foreign_selector_lock_none_of_the_members_pins(client, settings, member, issue_pin):
    # Before: every PIN of the member went to 5/5/5 and the right PINs failed afterwards.
    settings.LOGIN_THROTTLE_IP_LIMIT = 5
    pins = [issue_pin(member) for _ in range(3)]
    used = {issued.pin.selector for issued in pins}
    foreign = next(a + b for a in "CDEFGH" for b in "JKLMNP" if a + b not in used)
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    for _ in range(5):
        response = client.post(LOGIN, {"kvnr": member.kvnr, "pin": foreign + "23-4567-8923"}, **attacker)
        assert response.status_code == 200 and response.context["failed"]

    assert list(LetterPin.objects.filter(member=member).values_list("failed_attempts", flat=True)) == [0, 0, 0]
    # The guesses counted against the address they came from: it is blocked, the member is not.
    assert client.post(LOGIN, {"kvnr": member.kvnr, "pin": pins[0].plaintext}, **attacker).status_code == 429
    response = client.post(LOGIN, {"kvnr": member.kvnr, "pin": pins[0].plaintext}, REMOTE_ADDR="198.51.100.20")
    assert response.status_code == 302


# Cache (Redis) unreachable: the throttle fails open, the per-PIN rule in the database still holds

DEAD_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1: connection refused, as when Redis is down
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def cache_unreachable():
    # Restored by this fixture itself, before the test-wide fixture clears the (real) cache again.
    with override_settings(CACHES=DEAD_CACHE):
        yield


def test_wrong_pin_with_the_cache_unreachable_shows_the_login_page_not_an_error(
    client, member, issue_pin, cache_unreachable, caplog
):
    issue_pin(member)
    guess = "ABCD-EFGH-JKLM"
    response = login_post(client, kvnr=member.kvnr, pin=guess)
    assert response.status_code == 200
    assert "login throttle cache unreachable" in caplog.text
    assert guess not in caplog.text and "ABCDEFGHJKLM" not in caplog.text


def test_right_pin_with_the_cache_unreachable_signs_in(client, member, issue_pin, cache_unreachable):
    issued = issue_pin(member)
    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:dashboard")


def test_with_the_cache_unreachable_a_pin_still_locks_after_five_wrong_entries(
    client, member, issue_pin, cache_unreachable, settings, evaluations
):
    settings.LOGIN_THROTTLE_IP_LIMIT = 2  # would block this address after two guesses if the cache were there
    issued = issue_pin(member)
    wrong = issued.pin.selector + "2" * 10
    statuses = [login_post(client, kvnr=member.kvnr, pin=wrong).status_code for _ in range(8)]
    assert statuses == [200] * 8
    pin = LetterPin.objects.get(pk=issued.pin.pk)
    assert pin.failed_attempts == 5
    assert evaluations.count(pin.pin_hash) == 5
    assert login_post(client, kvnr=member.kvnr, pin=issued.plaintext).status_code == 200  # locked for good
