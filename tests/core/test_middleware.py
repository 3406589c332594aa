"""Security headers on every response: core/middleware.py plus Django's and django-csp's settings."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def start_page(client):
    return client.get(reverse("web:start"))


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_csp_allows_scripts_only_from_our_own_origin(start_page):
    assert directives(start_page)["script-src"] == ["'self'"]


def test_csp_allows_styles_only_from_our_own_origin(start_page):
    assert directives(start_page)["style-src"] == ["'self'"]


def test_csp_forbids_plugins(start_page):
    assert directives(start_page)["object-src"] == ["'none'"]


def test_csp_forbids_a_base_element(start_page):
    assert directives(start_page)["base-uri"] == ["'none'"]


def test_csp_forbids_framing(start_page):
    assert directives(start_page)["frame-ancestors"] == ["'none'"]


def test_content_type_sniffing_is_off(start_page):
    assert start_page["X-Content-Type-Options"] == "nosniff"


def test_referrer_stays_on_our_site(start_page):
    assert start_page["Referrer-Policy"] == "same-origin"


def test_cross_origin_opener_is_isolated(start_page):
    assert start_page["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize("feature", ["camera", "microphone", "geolocation"])
def test_permissions_policy_denies_the_feature(start_page, feature):
    assert f"{feature}=()" in [item.strip() for item in start_page["Permissions-Policy"].split(",")]


def test_headers_are_also_on_error_responses(client):
    response = client.get("/gibt-es-nicht/")

    assert response.status_code == 404
    assert "camera=()" in response["Permissions-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_anonymous_public_page_may_be_cached(start_page):
    assert "no-store" not in start_page.get("Cache-Control", "")


def test_every_page_of_a_signed_in_person_is_no_store(client, member):
    client.force_login(member.user)

    response = client.get(reverse("web:privacy"))

    assert "no-store" in response["Cache-Control"]


def test_hsts_for_a_year_with_subdomains_when_configured(client, settings):
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    response = client.get(reverse("web:start"), secure=True)

    assert response["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")
