"""The member's whole way through the uploads pages in Chromium: autosave, an upload that survives going
offline, a new login with another PIN that finds everything, transmission, and the PIN ending."""

import hashlib

import pytest
from django.conf import settings as django_settings
from django.test import Client

from pins.constants import VerifyResult
from pins.services import pin_verify
from uploads.models import Submission, Upload

from .conftest import login_member
from .factories import pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def member_context(browser, live_server, pin):
    """A browser context whose session cookie is a member session verified by this PIN."""
    client = login_member(Client(), pin)
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return context


def test_member_saves_uploads_through_an_outage_resumes_with_another_pin_and_transmits(
    browser, live_server, member, issue_pin, settings
):
    settings.UPLOAD_CHUNK_SIZE = 64 * 1024
    first, second = issue_pin(member), issue_pin(member)
    data = pdf_bytes(padding=600_000)

    context = member_context(browser, live_server, first.pin)
    page = context.new_page()
    page.goto("/antrag/")
    page.select_option("#id_reason", label="Bescheinigung")
    page.fill("#id_message", "Anbei meine Bescheinigung.")
    page.fill("#id_phone", "0221 1234567")
    page.wait_for_selector("#save-status:has-text('Gespeichert um')")

    patches = []

    def cut_network_midway(route):
        if route.request.method == "PATCH":
            patches.append(route.request.url)
            if len(patches) == 3:
                context.set_offline(True)
                route.abort("internetdisconnected")
                return
        route.continue_()

    context.route("**/antrag/uploads/**", cut_network_midway)
    page.set_input_files("#file-input", files=[{"name": "Befund.pdf", "mimeType": "application/pdf", "buffer": data}])
    waiting = page.wait_for_selector(".upload-item[data-state=waiting]")
    assert 0 < int(waiting.get_attribute("data-percent")) < 100
    assert page.is_visible(".upload-item progress")
    context.set_offline(False)
    page.wait_for_selector(".upload-item[data-state=done]", timeout=60_000)
    page.wait_for_selector("#file-list a:has-text('Befund.pdf')")
    assert Upload.objects.get().sha256 == hashlib.sha256(data).hexdigest()
    context.close()

    context = member_context(browser, live_server, second.pin)
    page = context.new_page()
    page.goto("/antrag/")
    assert page.input_value("#id_message") == "Anbei meine Bescheinigung."
    assert page.input_value("#id_phone") == "0221 1234567"
    assert page.is_visible("#file-list a:has-text('Befund.pdf')")

    page.goto("/antrag/pruefen/")
    page.check("#id_confirm")
    page.click("button[type=submit]")
    reference = Submission.objects.get().reference
    page.wait_for_selector(f"#reference:has-text('{reference}')")
    context.close()

    for used in (second, first):
        assert pin_verify(kvnr=member.kvnr, pin=used.plaintext, ip=None).result == VerifyResult.ALREADY_USED
