"""The one client-address function (core/net.py): trusted proxies, bad headers, and the staff paths using it."""

import logging

import pytest
from django.test import RequestFactory
from django.urls import reverse

from audit.constants import AuditAction
from audit.models import AuditEvent
from core.net import client_ip
from staff.constants import Role
from tests.staff.factories import STAFF_PASSWORD, make_staff, totp_code


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_remote_addr_without_trusted_proxies(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("203.0.113.9", forwarded="198.51.100.1")) == "203.0.113.9"


def test_the_address_our_one_proxy_saw(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request_from("10.0.0.2", forwarded="6.6.6.6, 198.51.100.7")) == "198.51.100.7"


def test_trusted_proxies_are_counted_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request_from("10.0.0.3", forwarded="6.6.6.6, 198.51.100.7, 10.0.0.2")) == "198.51.100.7"


def test_a_header_shorter_than_the_proxy_chain_falls_back_to_remote_addr(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request_from("10.0.0.5", forwarded="1.2.3.4")) == "10.0.0.5"


@pytest.mark.parametrize("forwarded", ["not-an-ip", "1.2.3.4.5", "'; DROP TABLE", "::ffff:zz", "999.1.1.1"])
def test_an_unreadable_forwarded_entry_falls_back_to_remote_addr_with_a_warning(settings, caplog, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    with caplog.at_level(logging.WARNING, logger="core.net"):
        assert client_ip(request_from("10.0.0.2", forwarded=forwarded)) == "10.0.0.2"
    assert "unreadable X-Forwarded-For" in caplog.text
    assert forwarded not in caplog.text


def test_the_address_is_normalised():
    assert client_ip(request_from("2001:DB8::0001")) == "2001:db8::1"


def test_no_request_no_address():
    assert client_ip(None) is None


@pytest.mark.django_db
def test_staff_login_with_an_unparseable_forwarded_header_is_audited_not_a_500(client, settings):
    # Before: staff/net.py passed the header's text on and the audit row's address column refused it (500).
    settings.TRUSTED_PROXY_COUNT = 1
    staff = make_staff(Role.CALL_CENTRE)
    response = client.post(
        reverse("admin:login"),
        {"username": staff.user.username, "password": STAFF_PASSWORD, "otp_token": totp_code(staff.device)},
        HTTP_X_FORWARDED_FOR="nonsense",
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.STAFF_LOGIN)
    assert event.ip == "127.0.0.1"


@pytest.mark.django_db
def test_failed_staff_login_with_an_unparseable_forwarded_header_is_audited(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    staff = make_staff(Role.CALL_CENTRE)
    response = client.post(
        reverse("admin:login"),
        {"username": staff.user.username, "password": "falsch", "otp_token": "123456"},
        HTTP_X_FORWARDED_FOR="1.2.3.4, nonsense",
    )
    assert response.status_code == 200
    assert AuditEvent.objects.get(action=AuditAction.STAFF_LOGIN_FAILED).ip == "127.0.0.1"
