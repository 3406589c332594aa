"""The member's whole way through the uploads pages in Chromium: autosave, an upload that survives going
offline, a new login with another PIN that finds everything, transmission, and the PIN ending."""

import hashlib

import pytest
from django.conf import settings as django_settings
from django.test import Client

from pins.constants import VerifyResult
from pins.services import pin_verify
from tests.helpers import login_member
from uploads.models import Submission, Upload

from .factories import SubmissionReasonFactory, pdf_bytes

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
    # Transactional tests run after others have flushed the tables, seeded reasons included.
    SubmissionReasonFactory(code="certificate", label_de="Bescheinigung", label_en="Certificate")
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
    page.wait_for_selector("#file-list .file[data-status=complete]", timeout=60_000)
    page.wait_for_selector("#file-list a:has-text('Befund.pdf')")
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()
    context.close()

    context = member_context(browser, live_server, second.pin)
    page = context.new_page()
    page.goto("/antrag/")
    assert page.input_value("#id_message") == "Anbei meine Bescheinigung."
    assert page.input_value("#id_phone") == "0221 1234567"
    assert page.is_visible("#file-list a:has-text('Befund.pdf')")

    page.goto("/antrag/pruefen/")
    page.check("#id_confirm")
    page.click(".transmit-form button[type=submit]")
    shown = page.wait_for_selector("#reference").inner_text()
    assert shown == Submission.objects.get().reference
    context.close()

    for used in (second, first):
        assert pin_verify(kvnr=member.kvnr, pin=used.plaintext, ip=None).result == VerifyResult.ALREADY_USED


def test_upload_cut_off_by_a_reload_resumes_from_its_offset_when_the_same_file_is_chosen(
    browser, live_server, member, issue_pin, settings, tmp_path
):
    settings.UPLOAD_CHUNK_SIZE = 64 * 1024
    data = pdf_bytes(padding=400_000)
    path = tmp_path / "Nachweis.pdf"
    path.write_bytes(data)
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    page.goto("/antrag/")

    seen = {"creations": 0, "patches": 0, "cut": True, "offsets_after_reload": []}

    def count_and_cut(route):
        request = route.request
        if request.method == "POST":
            seen["creations"] += 1
        if request.method == "PATCH":
            seen["patches"] += 1
            if seen["patches"] > 2 and seen["cut"]:
                route.abort("connectionreset")
                return
            if not seen["cut"]:
                seen["offsets_after_reload"].append(int(request.headers["upload-offset"]))
        route.continue_()

    context.route("**/antrag/uploads/**", count_and_cut)
    page.set_input_files("#file-input", str(path))
    page.wait_for_selector(".upload-item[data-state=waiting]")
    page.reload()
    assert page.is_visible(".file-partial")
    seen["cut"] = False
    page.set_input_files("#file-input", str(path))
    page.wait_for_selector("#file-list .file[data-status=complete]", timeout=60_000)

    assert seen["creations"] == 1
    assert seen["offsets_after_reload"][0] == 2 * 64 * 1024
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()
    context.close()


def test_cancelling_an_upload_deletes_it_on_the_server(browser, live_server, member, issue_pin, settings):
    settings.UPLOAD_CHUNK_SIZE = 64 * 1024
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    page.goto("/antrag/")
    patches = []

    def stall_after_first_chunk(route):
        if route.request.method == "PATCH":
            patches.append(1)
            if len(patches) > 1:
                route.abort("connectionreset")
                return
        route.continue_()

    context.route("**/antrag/uploads/**", stall_after_first_chunk)
    data = pdf_bytes(padding=300_000)
    page.set_input_files("#file-input", files=[{"name": "Falsch.pdf", "mimeType": "application/pdf", "buffer": data}])
    page.wait_for_selector(".upload-item[data-state=waiting]")
    assert Upload.objects.get().offset == 64 * 1024
    with page.expect_response(lambda response: response.request.method == "DELETE"):
        page.click(".upload-cancel")
    assert not Upload.objects.exists()
    assert page.query_selector(".upload-item") is None
    context.close()


def test_autosave_answered_503_says_not_saved_and_saves_on_a_later_try(browser, live_server, member, issue_pin):
    from uploads.models import Draft

    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    page.goto("/antrag/")
    refused = []

    def database_away_once(route):
        if not refused:
            refused.append(route.request.url)
            route.fulfill(status=503, content_type="application/json", body='{"message": "gleich wieder"}')
            return
        route.continue_()

    context.route("**/antrag/speichern/", database_away_once)
    page.fill("#id_message", "Trotz Ausfall gespeichert.")
    page.wait_for_selector("#save-status:has-text('Nicht gespeichert')")
    page.wait_for_selector("#save-status:has-text('Gespeichert um')", timeout=15_000)
    assert Draft.objects.get(member=member).message == "Trotz Ausfall gespeichert."
    context.close()


def test_upload_refused_with_507_shows_the_message_and_completes_on_a_later_try(
    browser, live_server, member, issue_pin, settings
):
    settings.UPLOAD_CHUNK_SIZE = 64 * 1024
    data = pdf_bytes(padding=200_000)
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    page.goto("/antrag/")
    refused = []

    def disk_full_once(route):
        if route.request.method == "PATCH" and not refused:
            refused.append(route.request.url)
            route.fulfill(
                status=507,
                content_type="application/json",
                headers={"Tus-Resumable": "1.0.0"},
                body='{"message": "Die Datei konnte gerade nicht gespeichert werden."}',
            )
            return
        route.continue_()

    context.route("**/antrag/uploads/**", disk_full_once)
    page.set_input_files("#file-input", files=[{"name": "Befund.pdf", "mimeType": "application/pdf", "buffer": data}])
    page.wait_for_selector(".upload-item[data-state=waiting]:has-text('konnte gerade nicht gespeichert')")
    page.wait_for_selector("#file-list .file[data-status=complete]", timeout=30_000)
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()
    context.close()
