"""In Chromium: call centre sends a new PIN, the print shop collects the letter, a case worker downloads a file."""

import hashlib

import pytest

from letters.constants import LetterStatus
from letters.models import LetterRequest
from pins.constants import PinStatus
from staff.constants import Role
from tests.factories import MemberFactory
from tests.uploads.factories import pdf_bytes

from .factories import browser_log_in, make_staff, transmitted_submission

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def open_page(browser, live_server):
    """A fresh browser context per staff member, so that every one of them logs in on their own."""
    contexts = []

    def _open():
        context = browser.new_context(base_url=live_server.url, locale="de-DE", accept_downloads=True)
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def test_new_pin_from_the_call_centre_is_collected_by_the_print_shop(open_page):
    member = MemberFactory(street="Lindenallee 5", postcode="48143", town="Münster")
    agent = make_staff(Role.CALL_CENTRE)
    printer = make_staff(Role.PRINT_SHOP)

    page = open_page()
    browser_log_in(page, agent)
    page.goto("/admin/members/member/")
    page.fill("#searchbar", f"{member.kvnr[:5]} {member.kvnr[5:]}".lower())
    page.press("#searchbar", "Enter")
    page.click(f"text={member.kvnr}")
    page.click("#reissue-link")
    assert "Lindenallee 5" in page.inner_text("#letter-address")
    assert "48143 Münster" in page.inner_text("#letter-address")
    page.select_option("#id_purpose", "lost")
    page.click("input[type=submit]")
    page.wait_for_selector(".messagelist .success")

    letter = LetterRequest.objects.get(member=member)
    assert letter.status == LetterStatus.RENDERED
    assert letter.pin.status == PinStatus.ACTIVE

    shop = open_page()
    browser_log_in(shop, printer)
    shop.goto("/druckerei/")
    with shop.expect_download() as download:
        shop.click("text=Stapel abholen")
    assert download.value.suggested_filename.endswith(".zip")
    letter.refresh_from_db()
    assert letter.status == LetterStatus.COLLECTED


def test_case_worker_opens_a_submission_and_downloads_its_file(open_page, tmp_path):
    member = MemberFactory()
    content = pdf_bytes()
    submission = transmitted_submission(member, files={"Attest.pdf": content})
    worker = make_staff(Role.CASE_WORKER)

    page = open_page()
    browser_log_in(page, worker)
    page.click("text=Posteingang")
    page.fill("#id_q", submission.reference)
    page.click("#inbox-filter input[type=submit]")
    page.click(f"text={submission.reference}")
    with page.expect_download() as download:
        page.click("text=Attest.pdf")
    saved = tmp_path / "download.pdf"
    download.value.save_as(saved)
    # What the case worker gets is the disarmed copy the insurer keeps.
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == submission.documents.get().sha256
