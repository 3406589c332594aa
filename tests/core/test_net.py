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


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        pytest.param(0, "203.0.113.9", "198.51.100.1", "203.0.113.9", id="remote-addr-without-trusted-proxies"),
        pytest.param(1, "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7", id="the-address-our-one-proxy-saw"),
        pytest.param(
            2, "10.0.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.2", "198.51.100.7", id="proxies-counted-from-the-right"
        ),
        pytest.param(2, "10.0.0.5", "1.2.3.4", "10.0.0.5", id="a-header-shorter-than-the-chain-gives-remote-addr"),
    ],
)
def test_the_client_address_behind_trusted_proxies(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request_from(remote, forwarded=forwarded)) == expected


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
@pytest.mark.parametrize(
    ("right", "forwarded", "status", "action"),
    [
        # Before: staff/net.py passed the header's text on and the audit row's address column refused it (500).
        pytest.param(True, "nonsense", 302, AuditAction.STAFF_LOGIN, id="login"),
        pytest.param(False, "1.2.3.4, nonsense", 200, AuditAction.STAFF_LOGIN_FAILED, id="failed-login"),
    ],
)
def test_staff_login_with_an_unparseable_forwarded_header_is_audited_not_a_500(
    client, settings, right, forwarded, status, action
):
    settings.TRUSTED_PROXY_COUNT = 1
    staff = make_staff(Role.CALL_CENTRE)
    password, token = (STAFF_PASSWORD, totp_code(staff.device)) if right else ("falsch", "123456")
    response = client.post(
        reverse("admin:login"),
        {"username": staff.user.username, "password": password, "otp_token": token},
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert response.status_code == status
    assert AuditEvent.objects.get(action=action).ip == "127.0.0.1"
