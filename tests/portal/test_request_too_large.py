"""A body too large for a form gets the member's 413 page (German, English), also on the default start (DEBUG)."""

import json

import pytest

TEN_MB = "x" * (10 * 2**20)
THREE_MB = "x" * (3 * 2**20)  # above DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)


@pytest.mark.parametrize("debug", [True, False])
def test_a_10_mb_form_post_gets_the_413_page_not_a_technical_one(client, settings, debug):
    settings.DEBUG = debug
    response = client.post("/", data="a=" + TEN_MB, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    page = response.content.decode()
    assert "Die Anfrage ist zu groß" in page
    assert "RequestDataTooBig" not in page and "Traceback" not in page
    assert settings.INSURER.hotline_phone in page


def test_the_413_page_in_english(client, settings):
    settings.DEBUG = True
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post("/anmelden/", data="a=" + THREE_MB, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert "The request is too large" in response.content.decode()


def test_a_script_gets_json(client):
    response = client.post(
        "/antrag/speichern/", data=TEN_MB, content_type="application/json", HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 413
    assert "zu groß" in json.loads(response.content)["message"]


@pytest.mark.django_db
def test_an_oversized_field_in_a_multipart_form_gets_the_413_page_in_production(client, settings):
    settings.DEBUG = False
    response = client.post("/anmelden/", {"kvnr": "x" * (3 * 2**20), "pin": "x"})
    assert response.status_code == 413
    assert "Die Anfrage ist zu groß" in response.content.decode()
