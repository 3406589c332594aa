"""What a member sees on the draft and review pages in Chromium: the error summary, one list of files, 44 px
targets, no sideways scrolling on a phone, drag and drop, and the last edit saved when the tab is closed."""

import time

import pytest

from uploads.models import Draft, Upload

from .factories import DraftFactory, UploadFactory, pdf_bytes
from .test_browser import member_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Bescheinigung_des_Arbeitgebers_ueber_das_Einkommen_im_Jahr_2026_fuer_die_Familienversicherung.pdf"


@pytest.fixture
def member_page(browser, live_server, member, issue_pin):
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    yield page
    context.close()


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_save_for_later_with_an_error_shows_a_focused_summary_and_no_pending_status(member_page):
    page = member_page
    page.goto("/antrag/")
    page.fill("#id_postcode", "123")
    page.fill("#id_message", "Bitte um Rückruf")
    page.click("#draft-form button[type=submit]")
    page.wait_for_load_state()
    assert page.title().startswith("Fehler:")
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'")
    assert "fünf Ziffern" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "id_postcode"
    status = page.inner_text("#save-status")
    assert "gleich gespeichert" not in status
    assert "nicht gespeichert" in status
    assert Draft.objects.get().message == "Bitte um Rückruf"


def test_review_without_the_confirmation_shows_our_error_not_the_browser_bubble(member_page, member):
    page = member_page
    DraftFactory(member=member, message="Hallo")
    page.goto("/antrag/pruefen/")
    box = page.locator("#id_confirm").bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    page.click(".transmit-form button[type=submit]")
    page.wait_for_selector("#error-summary:not([hidden])")
    assert page.title().startswith("Fehler:")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert "bestätigen" in page.inner_text("#error-summary")
    assert page.locator("#id_confirm").get_attribute("aria-invalid") == "true"


def test_a_long_file_name_wraps_on_a_phone_and_each_file_shows_once_with_44px_actions(member_page, member):
    page = member_page
    draft = DraftFactory(member=member)
    UploadFactory(draft=draft, name=LONG_NAME)
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/antrag/", "/antrag/pruefen/"):
        page.goto(path)
        assert no_sideways_scroll(page), path
    page.goto("/antrag/")
    assert page.locator(".file__name", has_text=LONG_NAME).count() == 1
    remove = page.locator("#file-list .file button")
    assert remove.bounding_box()["height"] >= 44
    assert page.locator(".member-nav__button").bounding_box()["height"] >= 44


def test_every_member_page_has_sign_out_and_a_way_back(member_page):
    page = member_page
    for path, back in (("/antrag/", "/uebersicht/"), ("/antrag/pruefen/", "/antrag/")):
        page.goto(path)
        assert page.locator(".member-nav form[action='/abmelden/'] button").is_visible()
        assert page.locator(f"a.back-link[href='{back}']").is_visible()
    page.goto("/uebersicht/")
    page.click(".member-nav__button")
    page.wait_for_url("**/abgemeldet/")


def test_a_finished_upload_shows_once_in_the_file_list(member_page, settings):
    settings.UPLOAD_CHUNK_SIZE = 64 * 1024
    page = member_page
    page.goto("/antrag/")
    page.set_input_files(
        "#file-input",
        files=[{"name": "Befund.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes(padding=150_000)}],
    )
    page.wait_for_selector("#file-list .file[data-status=complete]", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('#upload-progress li').length === 0")
    assert page.locator(".file__name", has_text="Befund.pdf").count() == 1
    assert page.locator("progress").count() == 0


def test_files_dropped_on_the_chooser_are_uploaded(member_page):
    page = member_page
    page.goto("/antrag/")
    data = list(pdf_bytes())
    page.evaluate(
        """(bytes) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], "Gezogen.pdf", { type: "application/pdf" }));
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        data,
    )
    page.wait_for_selector("#file-list .file[data-status=complete]", timeout=30_000)
    assert Upload.objects.get().name == "Gezogen.pdf"


def test_closing_the_tab_right_after_typing_saves_the_last_edit(browser, live_server, member, issue_pin):
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    page.goto("/antrag/")
    page.fill("#id_message", "Zuletzt getippt")
    # Well within the autosave delay: only the pagehide/visibilitychange save can carry this edit.
    page.close(run_before_unload=True)
    context.close()
    draft = Draft.objects.get(member=member)
    for _ in range(50):
        draft.refresh_from_db()
        if draft.message == "Zuletzt getippt":
            break
        time.sleep(0.1)
    assert draft.message == "Zuletzt getippt"
