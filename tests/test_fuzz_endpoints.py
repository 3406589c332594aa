"""Property-based fuzzing of every URL the portal routes: whatever arrives, the answer is never a 500.

The URL patterns are read from the resolver, so every endpoint an app adds is fuzzed without listing it
here. Each pattern is tried by an anonymous visitor, a logged-in member and a logged-in staff superuser,
with arbitrary methods, fields (known field names and random ones), unicode, huge values, duplicated fields,
broken multipart bodies and tampered upload headers. Hypothesis keeps the number of examples bounded.
"""

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import login_member, login_staff

FIELD_NAMES = [
    "kvnr", "pin", "next", "language", "reason", "message", "phone", "email", "street", "postcode", "town",
    "address_line", "version", "confirm", "purpose", "note", "status", "q", "action", "_selected_action",
    "username", "password", "otp_token", "otp_device", "file", "name", "csrfmiddlewaretoken",
]  # fmt: skip
SKIP_PREFIXES = ("/static/", "/admin/jsi18n/")
LEAKSCAN_URLS_ARE_ADVERSARIAL = True  # tests/leakscan.py: the fuzzer's own query strings may look like a KVNR


def _concrete(pattern, prefix: str = "") -> list[str]:
    """Turn every route into a concrete path; converters get a plausible value of their type."""
    paths = []
    for entry in pattern.url_patterns if isinstance(pattern, URLResolver) else [pattern]:
        if isinstance(entry, URLResolver):
            paths += _concrete(entry, prefix + _route(entry.pattern))
        elif isinstance(entry, URLPattern):
            paths.append(prefix + _route(entry.pattern))
    return paths


def _route(pattern) -> str:
    route = getattr(pattern, "_route", None)
    if route is None:  # a regex pattern: use it where it has no groups
        regex = pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
        return regex if "(" not in regex and "[" not in regex else "x/"
    for name, converter in getattr(pattern, "converters", {}).items():
        kind = type(converter).__name__
        value = {"IntConverter": "1", "UUIDConverter": str(uuid.UUID(int=1))}.get(kind, "abc")
        route = route.replace(f"<{_converter_name(kind)}:{name}>", value).replace(f"<{name}>", value)
    return route


def _converter_name(kind: str) -> str:
    return {"IntConverter": "int", "UUIDConverter": "uuid", "SlugConverter": "slug", "PathConverter": "path"}.get(
        kind, "str"
    )


ROUTES = sorted({"/" + p for p in _concrete(get_resolver()) if not ("/" + p).startswith(SKIP_PREFIXES)})

text = st.text(max_size=60) | st.sampled_from(["", "0", "-1", "A123456780", "ABCD-EFGH-JKLM", "x" * 5000, "\x00"])
fields = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), text | st.lists(text, max_size=3))
methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
bodies = st.sampled_from(
    [
        ("multipart/form-data; boundary=zzz", b'--zzz\r\nContent-Disposition: form-data; name="file"\r\n\r\nx'),
        ("multipart/form-data", b"garbage"),
        ("application/json", b"{not json"),
        ("application/offset+octet-stream", b"\x00" * 100),
        ("text/plain", "ü".encode("latin-1")),
    ]
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_UPLOAD_OFFSET": st.sampled_from(["-5", "abc", "99999999999999999999", "0"]),
        "HTTP_UPLOAD_LENGTH": st.sampled_from(["-1", "1e9", "", "10"]),
        "HTTP_TUS_RESUMABLE": st.sampled_from(["1.0.0", "0.2", ""]),
        "HTTP_UPLOAD_METADATA": st.sampled_from(["filename Li4vZXRj", "filename", "a b c d", "x !!!"]),
        "HTTP_X_FORWARDED_FOR": st.sampled_from(["1.2.3.4", "not-an-ip", "::1, 10.0.0.1"]),
        "HTTP_ACCEPT_LANGUAGE": st.sampled_from(["en", "xx", "de-DE,de;q=0.9"]),
    },
)


def _member_client(member, issue_pin) -> Client:
    return login_member(Client(), issue_pin(member).pin)


def _staff_client() -> Client:
    user = User.objects.create_superuser("fuzz-admin", "admin@example.org", "a long admin password 42")
    device = TOTPDevice.objects.create(user=user, name="fuzz", confirmed=True)
    return login_staff(Client(), user, device)


@pytest.fixture(params=["anonymous", "member", "staff"])
def visitor(request, db, member, issue_pin) -> Client:
    if request.param == "member":
        return _member_client(member, issue_pin)
    if request.param == "staff":
        return _staff_client()
    return Client()


def _send(client: Client, path: str, method: str, data: dict, extra: dict, body) -> int:
    if body is not None and method in ("POST", "PUT", "PATCH"):
        content_type, raw = body
        response = client.generic(method, path, raw, content_type=content_type, **extra)
    elif method in ("GET", "HEAD", "DELETE", "OPTIONS"):
        response = getattr(client, method.lower())(path, data if method == "GET" else None, **extra)
    else:
        response = getattr(client, method.lower())(path, data, **extra)
    return response.status_code


@pytest.mark.django_db
@pytest.mark.parametrize("path", ROUTES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=methods, data=fields, extra=headers, body=st.none() | bodies)
def test_no_input_makes_an_endpoint_fail(visitor, path, method, data, extra, body):
    status = _send(visitor, path, method, data, extra, body)
    assert status < 500, (path, method, status)


def test_the_fuzzer_sees_the_routes():
    assert {"/admin/login/", "/anmelden/"} <= set(ROUTES)


@pytest.mark.django_db
def test_the_member_visitor_reaches_member_pages(member, issue_pin):
    from django.urls import reverse

    assert _member_client(member, issue_pin).get(reverse("web:dashboard")).status_code == 200
