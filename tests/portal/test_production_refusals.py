"""Production (PORTAL_PRODUCTION=1) refuses to start without its insurer or on a toy setup, saying what to set."""

import pytest

from tests.production import production_env, start_settings

REAL_SERVICES = {
    "DATABASE_URL": "postgres://portal@db.invalid:5432/portal",
    "CACHE_URL": "redis://cache.invalid:6379/1",
    "CELERY_BROKER_URL": "redis://broker.invalid:6379/0",
    "PORTAL_ALLOW_EMBEDDED_SERVICES": None,
}


@pytest.mark.slow(8)
def test_production_with_its_insurer_and_real_services_starts(tmp_path):
    # Loading the settings connects to nothing, so addresses that do not resolve are enough here.
    result = start_settings(production_env(tmp_path, **REAL_SERVICES))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("variable", ["INSURER_HOTLINE_PHONE", "INSURER_POSTAL_ADDRESS", "INSURER_NAME"])
def test_production_refuses_to_start_without_the_insurers_hotline_address_or_name(tmp_path, variable):
    result = start_settings(production_env(tmp_path, **REAL_SERVICES, **{variable: None}))

    assert result.returncode != 0
    assert f"{variable} is not set" in result.stderr
    # No fallback to the demo's insurer or to anybody's real address.
    assert "Musterkasse" not in result.stderr
    assert "Köln" not in result.stderr


def test_production_names_every_missing_insurer_value_at_once(tmp_path):
    missing = dict.fromkeys(("INSURER_HOTLINE_PHONE", "INSURER_HOTLINE_HOURS", "INSURER_PRIVACY_CONTACT"))
    result = start_settings(production_env(tmp_path, **REAL_SERVICES, **missing))

    assert result.returncode != 0
    for name in missing:
        assert f"{name} is not set" in result.stderr


@pytest.mark.parametrize(
    ("unset", "expected"),
    [
        ("DATABASE_URL", "set DATABASE_URL=postgres://"),
        ("CACHE_URL", "set CACHE_URL=redis://"),
        ("CELERY_BROKER_URL", "set CELERY_BROKER_URL=redis://"),
    ],
)
def test_production_refuses_an_embedded_service_and_says_what_to_set(tmp_path, unset, expected):
    result = start_settings(production_env(tmp_path, **{**REAL_SERVICES, unset: None}))

    assert result.returncode != 0
    assert expected in result.stderr
    assert "PORTAL_ALLOW_EMBEDDED_SERVICES=1" in result.stderr


@pytest.mark.slow(5)
def test_production_on_embedded_services_starts_when_the_installation_opts_in(tmp_path):
    embedded = dict.fromkeys(("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL"))

    refused = start_settings(production_env(tmp_path, **embedded, PORTAL_ALLOW_EMBEDDED_SERVICES=None))
    allowed = start_settings(production_env(tmp_path, **embedded, PORTAL_ALLOW_EMBEDDED_SERVICES="1"))

    assert refused.returncode != 0
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.slow(4)
def test_production_refuses_local_storage_on_several_nodes_unless_it_is_shared(tmp_path):
    nodes = {**REAL_SERVICES, "STORAGE_BACKEND": "local", "WEB_NODES": "2"}

    refused = start_settings(production_env(tmp_path, **nodes))
    shared = start_settings(production_env(tmp_path, **nodes, STORAGE_LOCAL_SHARED="true"))

    assert refused.returncode != 0
    assert "STORAGE_BACKEND=s3" in refused.stderr
    assert "STORAGE_LOCAL_SHARED=true" in refused.stderr
    assert shared.returncode == 0, shared.stderr


def test_a_brand_colour_without_aa_contrast_stops_the_start_with_a_clear_message(tmp_path):
    result = start_settings(production_env(tmp_path, **REAL_SERVICES, INSURER_BRAND_COLOR="#ffcc00"))

    assert result.returncode != 0
    assert "INSURER_BRAND_COLOR=#ffcc00 is too light" in result.stderr
    assert "4.5:1" in result.stderr


def test_the_demo_insurer_is_fictional(tmp_path):
    from django.conf import settings

    insurer = settings.INSURER
    assert "Demo" in insurer.name
    assert insurer.hotline_phone.startswith("030 23125")  # the Bundesnetzagentur's range for fiction
    assert insurer.postal_address[-1].startswith("00000 ")  # no German postcode begins 00
    assert "Köln" not in " ".join(insurer.postal_address)
