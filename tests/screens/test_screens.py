"""Every member and staff page in Chromium at 1280 and 375 px: a screenshot each (var/screenshots/, git-ignored,
kept as CI artefacts), no sideways scrolling on a phone, and axe-core clean at WCAG 2.1 AA.

One browser, one context per person; each page is loaded once per width. Problems are collected and reported
together, so one run shows everything that is wrong."""

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from letters.constants import LetterStatus
from staff.constants import Role
from tests.helpers import login_member
from tests.letters.factories import LetterRequestFactory
from tests.staff.factories import make_staff, transmitted_submission, verified_client
from tests.uploads.factories import DraftFactory, SubmissionReasonFactory, UploadFactory, pdf_bytes
from uploads.models import SubmissionReason, Upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"
WIDTHS = {"wide": (1280, 900), "phone": (375, 740)}
AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
LONG_NAME = "Bescheinigung_des_Arbeitgebers_ueber_das_Einkommen_im_Jahr_2026_fuer_die_Familienversicherung.pdf"


class Screens:
    """Visits pages at both widths and collects what is wrong."""

    def __init__(self, context, prefix: str):
        self.page = context.new_page()
        self.prefix = prefix
        self.problems: list[str] = []
        self.axe = Axe()
        SHOTS.mkdir(parents=True, exist_ok=True)

    def visit(self, name: str, path: str | None = None, before=None) -> None:
        for width_name, (width, height) in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": height})
            if path is not None:
                self.page.goto(path)
            if before is not None:
                before(self.page)
            self.check(name, width_name)

    def check(self, name: str, width_name: str) -> None:
        page = self.page
        page.screenshot(path=str(SHOTS / f"{self.prefix}-{name}-{width_name}.png"), full_page=True)
        if width_name == "phone" and page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            wide = page.evaluate("document.documentElement.scrollWidth")
            self.problems.append(f"{name}: {wide} px wide at 375 px")
        if width_name == "wide":
            results = self.axe.run(page, options=AA)
            for violation in results.response["violations"]:
                targets = [node["target"] for node in violation["nodes"]][:3]
                self.problems.append(f"{name}: axe {violation['id']} ({violation['impact']}) {targets}")


def context_with_session(browser, live_server, client: Client):
    context = browser.new_context(base_url=live_server.url, locale="de-DE")
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return context


@pytest.mark.slow(13)
def test_member_pages(browser, live_server, member, issue_pin):
    SubmissionReasonFactory(code="certificate", label_de="Bescheinigung", label_en="Certificate")
    anonymous = browser.new_context(base_url=live_server.url, locale="de-DE")
    screens = Screens(anonymous, "member")
    for name, path in [
        ("start", "/"),
        ("login", "/anmelden/"),
        ("privacy", "/datenschutz/"),
        ("imprint", "/impressum/"),
        ("accessibility", "/barrierefreiheit/"),
        ("easy-language", "/leichte-sprache/"),
        ("signed-out", "/abgemeldet/?grund=inaktiv"),
        ("not-found", "/gibt-es-nicht/"),
    ]:
        screens.visit(name, path)

    def failed_login(page):
        page.fill("#id_kvnr", member.kvnr)
        page.fill("#id_pin", "ABCD-EFGH-JKLM")
        page.click("form.form button[type=submit]")
        page.wait_for_load_state()

    screens.visit("login-failed", "/anmelden/", before=failed_login)
    anonymous.close()

    reason = SubmissionReason.objects.get(code="certificate")
    draft = DraftFactory(member=member, reason=reason, message="Anbei meine Unterlagen.", phone="0221 1234567")
    UploadFactory(draft=draft, name=LONG_NAME)
    context = context_with_session(browser, live_server, login_member(Client(), issue_pin(member).pin))
    screens.page = context.new_page()
    screens.visit("dashboard", "/uebersicht/")
    screens.visit("draft", "/antrag/")

    def draft_errors(page):
        page.fill("#id_postcode", "12")
        page.click("#draft-form button[type=submit]")
        page.wait_for_load_state()

    screens.visit("draft-errors", "/antrag/", before=draft_errors)
    screens.visit("review", "/antrag/pruefen/")

    def review_error(page):
        page.click(".transmit-form button[type=submit]")
        page.wait_for_load_state()

    screens.visit("review-error", "/antrag/pruefen/", before=review_error)
    Upload.objects.filter(draft=draft).delete()  # the unfinished file would stop the transmission
    page = screens.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/antrag/pruefen/")
    page.check("#id_confirm")
    page.click(".transmit-form button[type=submit]")
    page.wait_for_selector("#reference")
    screens.visit("done", "/antrag/bestaetigung/")
    context.close()
    assert screens.problems == [], "\n".join(screens.problems)


@pytest.mark.slow(12)
def test_staff_pages(browser, live_server, member, issue_pin):
    # A letter ready to print (so the print queue shows its table) whose PIN the transmission below ends.
    LetterRequestFactory(
        member=member, status=LetterStatus.RENDERED, pin=issue_pin(member).pin, rendered_at=timezone.now(), pages=1
    )
    submission = transmitted_submission(member, files={LONG_NAME: pdf_bytes()})
    admin = make_staff(Role.ADMINISTRATOR)
    context = context_with_session(browser, live_server, verified_client(admin))
    screens = Screens(context, "staff")
    for name, path in [
        ("admin-index", "/admin/"),
        ("members", "/admin/members/member/"),
        ("member", f"/admin/members/member/{member.pk}/change/"),
        ("member-reissue", f"/admin/members/member/{member.pk}/neue-pin/"),
        ("member-address", f"/admin/members/member/{member.pk}/anschrift/"),
        ("member-story", f"/admin/members/member/{member.pk}/verlauf/"),
        ("pins", "/admin/pins/letterpin/"),
        ("audit", "/admin/audit/auditevent/"),
        ("print-queue", "/druckerei/"),
        ("inbox", "/mitarbeiter/eingang/"),
        ("submission", f"/mitarbeiter/eingang/{submission.reference}/"),
        (
            "viewer",
            f"/mitarbeiter/eingang/{submission.reference}/dokumente/{submission.documents.get().public_id}/ansehen/",
        ),
        ("accessibility-feedback", "/admin/web/accessibilityfeedback/"),
    ]:
        screens.visit(name, path)
    context.close()
    anonymous = browser.new_context(base_url=live_server.url, locale="de-DE")
    screens.page = anonymous.new_page()
    screens.visit("admin-login", "/admin/login/")
    anonymous.close()
    assert screens.problems == [], "\n".join(screens.problems)
