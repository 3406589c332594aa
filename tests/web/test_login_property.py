"""A property over the login form (issue 13.6): whatever KVNR, PIN and headers arrive, the answer is a known one.

Known answers: the form again with a field error, the generic failure, an explanation (only after the PIN
matched), a redirect into the portal, or the throttle's 429. Never a 5xx, and the failure page of an unknown
KVNR, a wrong PIN and a locked PIN is the same page byte for byte, apart from what the visitor typed and the
CSRF token's mask.
"""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pins.cases import FAILING, login_cases

pytestmark = pytest.mark.django_db

LOGIN = reverse("web:login")
PIN_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789abcxyz01IOl -_"
HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\r\n"), max_size=60)

HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_X_FORWARDED_FOR": st.one_of(HEADER_TEXT, st.just("1.2.3.4, ::1, nonsense"), st.just(",,,")),
        "HTTP_ACCEPT_LANGUAGE": st.one_of(HEADER_TEXT, st.sampled_from(["en", "de-DE,de;q=0.9", "*", "xx-YY"])),
        "HTTP_USER_AGENT": HEADER_TEXT,
        "HTTP_REFERER": HEADER_TEXT,
        "HTTP_X_REQUESTED_WITH": HEADER_TEXT,
        "HTTP_ORIGIN": HEADER_TEXT,
        "REMOTE_ADDR": st.one_of(st.ip_addresses().map(str), st.just("")),
    },
)


def _failure_page(html: str, typed_kvnr: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken" value=""', html)
    return html.replace(f'value="{typed_kvnr}"', 'value=""')


@pytest.fixture
def cases(issue_pin):
    return login_cases(issue_pin)


def test_unknown_wrong_and_locked_answer_with_the_same_page(cases):
    pages, statuses, headers = {}, set(), set()
    for name in FAILING:
        cache.clear()
        kvnr, pin = cases[name]
        response = Client().post(LOGIN, {"kvnr": kvnr, "pin": pin})
        statuses.add(response.status_code)
        headers.add(
            tuple(
                sorted(
                    (key, value)
                    for key, value in response.items()
                    if key.lower() not in ("content-length", "expires", "date", "x-request-id")
                )
            )
        )
        pages[name] = _failure_page(response.content.decode(), kvnr)
    assert statuses == {200}
    assert len(headers) == 1
    assert len(set(pages.values())) == 1, "the failure pages differ"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kvnr=st.one_of(st.text(max_size=30), st.sampled_from(["right", "unknown KVNR", "wrong PIN", "locked PIN"])),
    pin=st.one_of(st.text(alphabet=PIN_CHARS, max_size=20), st.text(max_size=40), st.sampled_from(["known"])),
    headers=HEADERS,
)
def test_any_input_gives_a_known_answer_and_never_a_5xx(cases, kvnr, pin, headers):
    if kvnr in cases:
        kvnr, known_pin = cases[kvnr]
        pin = known_pin if pin == "known" else pin
    elif pin == "known":
        pin = cases["right"][1]
    response = Client().post(LOGIN, {"kvnr": kvnr, "pin": pin}, **headers)
    assert response.status_code in (200, 302, 400, 429), response.status_code
    if response.status_code == 302:
        assert response["Location"] in (reverse("web:dashboard"), "/uebersicht/")
    if response.status_code == 200:
        html = response.content.decode()
        assert any(mark in html for mark in ('class="error-summary"', 'id="failure-title"')), (
            "a POST that is not a sign-in shows a field error or the failure notice"
        )
