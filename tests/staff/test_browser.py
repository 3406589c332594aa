"""In Chromium: call centre sends a new PIN, the print shop collects the letter, a case worker downloads a file."""

import hashlib
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings

from letters.constants import LetterStatus
from letters.models import LetterRequest
from pins.constants import PinStatus
from staff.constants import Role
from tests.factories import MemberFactory
from tests.scanning.pages import pages_pdf
from tests.uploads.factories import pdf_bytes

from .factories import browser_log_in, make_staff, transmitted_submission
from .viewer import image_loaded, viewer_pages

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
        page.get_by_role("link", name="Attest.pdf herunterladen").click()
    saved = tmp_path / "download.pdf"
    download.value.save_as(saved)
    # What the case worker gets is the disarmed copy the insurer keeps.
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == submission.documents.get().sha256


SHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"
AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
FORM = ["Arbeitgeberbescheinigung Seite eins", "Angaben zum Arbeitsentgelt Seite zwei", "Unterschrift Seite drei"]


def _axe(page) -> list[str]:
    results = Axe().run(page, options=AA)
    return [f"{v['id']} ({v['impact']})" for v in results.response["violations"]]


def test_case_worker_reads_a_three_page_pdf_in_the_viewer(open_page):
    member = MemberFactory()
    submission = transmitted_submission(member, files={"Arbeitgeberbescheinigung.pdf": pages_pdf(FORM)})
    document = submission.documents.get()
    worker = make_staff(Role.CASE_WORKER)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page = open_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_log_in(page, worker)
    page.goto("/mitarbeiter/eingang/")
    thumbnail = page.locator("img.inbox-thumb")
    thumbnail.wait_for()
    image_loaded(page, "img.inbox-thumb")
    page.screenshot(path=str(SHOTS / "viewer-inbox-1280.png"), full_page=True)
    assert _axe(page) == []

    page.click(f"text={submission.reference}")
    page.get_by_role("link", name="Arbeitgeberbescheinigung.pdf ansehen").click()
    assert page.inner_text("#viewer-position") == "Seite 1 von 3"
    assert FORM[0] in page.inner_text("#viewer-text")
    image_loaded(page)
    page.screenshot(path=str(SHOTS / "viewer-1280.png"), full_page=True)
    assert _axe(page) == []

    page.click("#viewer-next")
    assert page.inner_text("#viewer-position") == "Seite 2 von 3"
    assert FORM[1] in page.inner_text("#viewer-text")
    page.keyboard.press("ArrowRight")  # viewer.js: the arrow keys turn the pages
    page.wait_for_url("**seite=3**")
    assert FORM[2] in page.inner_text("#viewer-text")
    page.click("#viewer-previous")
    assert page.inner_text("#viewer-position") == "Seite 2 von 3"
    page.click(".viewer-zoom a[data-zoom='150']")
    assert page.locator("#viewer-image").get_attribute("class") == "viewer-zoom-150"
    assert page.evaluate("document.querySelector('#viewer-image').getBoundingClientRect().width") > page.evaluate(
        "document.querySelector('#viewer-sheet').clientWidth"
    )

    # Three upright pages in the order sent; every view audited.
    assert [(number, width > 0 and height > width) for number, width, height in viewer_pages(page, document)] == [
        (1, True),
        (2, True),
        (3, True),
    ]
    from audit.constants import AuditAction
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(action=AuditAction.SUBMISSION_VIEWED, actor_user=worker.user).count() >= 8

    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(page.url.split("?")[0])
    image_loaded(page)
    page.screenshot(path=str(SHOTS / "viewer-375.png"), full_page=True)
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert _axe(page) == []
