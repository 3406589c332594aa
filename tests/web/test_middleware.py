"""Member session timeouts enforced by web/middleware.py: idle timeout and absolute lifetime."""

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from pins.session import SEEN_WRITE_INTERVAL_SECONDS

pytestmark = pytest.mark.django_db


def test_activity_within_the_idle_timeout_keeps_the_session(clock, signed_in, settings):
    client, _issued = signed_in

    clock.shift(settings.MEMBER_IDLE_TIMEOUT_SECONDS - 1)

    assert client.get(reverse("web:dashboard")).status_code == 200


def test_idle_timeout_signs_out_and_says_why(clock, signed_in, settings):
    client, _issued = signed_in
    key = client.session.session_key

    clock.shift(settings.MEMBER_IDLE_TIMEOUT_SECONDS)
    response = client.get(reverse("web:dashboard"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:signed_out") + "?grund=inaktiv"
    assert not Session.objects.filter(session_key=key).exists()


def test_each_request_restarts_the_idle_clock(clock, signed_in, settings):
    client, _issued = signed_in
    half = settings.MEMBER_IDLE_TIMEOUT_SECONDS // 2 + 1

    clock.shift(half)
    client.get(reverse("web:dashboard"))
    clock.shift(half)

    assert client.get(reverse("web:dashboard")).status_code == 200


def test_requests_soon_after_the_last_write_do_not_write_the_session(clock, signed_in):
    client, _issued = signed_in

    clock.shift(SEEN_WRITE_INTERVAL_SECONDS - 1)
    response = client.get(reverse("web:dashboard"))

    assert "sessionid" not in response.cookies


def test_idle_clock_counts_from_the_last_written_activity(clock, signed_in, settings):
    client, _issued = signed_in
    clock.shift(SEEN_WRITE_INTERVAL_SECONDS - 1)
    client.get(reverse("web:dashboard"))

    clock.shift(settings.MEMBER_IDLE_TIMEOUT_SECONDS - SEEN_WRITE_INTERVAL_SECONDS + 1)

    assert client.get(reverse("web:dashboard")).status_code == 302


def test_keepalive_restarts_the_idle_clock(clock, signed_in, settings):
    client, _issued = signed_in

    clock.shift(10)
    client.post(reverse("web:keepalive"))
    clock.shift(settings.MEMBER_IDLE_TIMEOUT_SECONDS - 1)

    assert client.get(reverse("web:dashboard")).status_code == 200


def test_absolute_lifetime_ends_an_active_session(clock, signed_in, settings):
    client, _issued = signed_in
    step = settings.MEMBER_IDLE_TIMEOUT_SECONDS - 60
    elapsed = 0
    while elapsed + step < settings.MEMBER_SESSION_MAX_AGE_SECONDS:
        clock.shift(step)
        elapsed += step
        assert client.get(reverse("web:dashboard")).status_code == 200

    clock.shift(settings.MEMBER_SESSION_MAX_AGE_SECONDS - elapsed)
    response = client.get(reverse("web:dashboard"))

    assert response["Location"] == reverse("web:signed_out") + "?grund=zeit"


def test_session_warning_is_not_extendable_near_the_absolute_end(clock, signed_in, settings):
    client, _issued = signed_in
    settings.MEMBER_SESSION_MAX_AGE_SECONDS = settings.MEMBER_IDLE_TIMEOUT_SECONDS + 100
    clock.shift(200)

    response = client.post(reverse("web:keepalive"))

    assert response.json() == {"remaining": settings.MEMBER_IDLE_TIMEOUT_SECONDS - 100, "extendable": False}


def test_member_session_without_its_clocks_is_ended(signed_in):
    client, _issued = signed_in
    session = client.session
    del session["member_session_started"]
    session.save()

    response = client.get(reverse("web:dashboard"))

    assert response["Location"] == reverse("web:signed_out") + "?grund=zeit"


def test_timeouts_leave_anonymous_sessions_alone(client, clock):
    client.get(reverse("web:start"))
    clock.shift(10 * 3600)

    assert client.get(reverse("web:start")).status_code == 200
