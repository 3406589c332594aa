"""The member pages in headless Chromium: login to logout, lockout, Caps Lock, English, idle timeout, axe-core."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.pins.cases import wrong_secret

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_login(page: Page, *, kvnr: str, pin: str) -> None:
    page.goto("/anmelden/")
    page.locator("#id_kvnr").fill(kvnr)
    page.locator("#id_pin").fill(pin)


def sign_in(page: Page, *, kvnr: str, pin: str) -> None:
    fill_login(page, kvnr=kvnr, pin=pin)
    page.locator("form.form button[type=submit]").click()


def test_member_signs_in_with_the_letter_pin_sees_the_dashboard_and_signs_out(page, member, issue_pin):
    issued = issue_pin(member)

    sign_in(page, kvnr=member.kvnr, pin=issued.display)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Willkommen, {member.full_name}")
    page.get_by_role("button", name="Abmelden").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Sie sind abgemeldet")
    page.goto("/uebersicht/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden mit Ihrer Einmal-PIN")


def test_login_works_with_the_keyboard_only(page, member, issue_pin):
    issued = issue_pin(member)
    page.goto("/anmelden/")

    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_kvnr":
            break
    page.keyboard.type(member.kvnr)
    page.keyboard.press("Tab")
    page.keyboard.type(issued.display)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Willkommen, {member.full_name}")


def test_five_wrong_entries_lock_the_pin_and_the_sixth_shows_the_checklist(page, member, issue_pin):
    issued = issue_pin(member)
    for _ in range(5):
        sign_in(page, kvnr=member.kvnr, pin=wrong_secret(issued.plaintext))
        expect(page.get_by_role("alert")).to_contain_text("Die Anmeldung hat nicht geklappt")

    sign_in(page, kvnr=member.kvnr, pin=issued.plaintext)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Die Anmeldung hat nicht geklappt")
    expect(alert).to_be_focused()
    expect(page.locator("#checklist-title + .checklist")).to_contain_text(
        "Wurde die PIN schon 5-mal falsch eingegeben?"
    )


def test_after_a_wrong_pin_on_a_phone_the_form_is_right_below_the_message(page, member, issue_pin):
    """The checklist follows the form: the PIN field is on the first screen of a 375 x 667 phone."""
    issued = issue_pin(member)
    page.set_viewport_size({"width": 375, "height": 667})
    sign_in(page, kvnr=member.kvnr, pin=wrong_secret(issued.plaintext))
    expect(page.get_by_role("alert")).to_contain_text("Die Anmeldung hat nicht geklappt")
    box = page.locator("#id_pin").bounding_box()
    assert box["y"] + box["height"] < 667 * 1.5, box
    form_bottom = page.locator("form.form").bounding_box()
    checklist_top = page.locator("#checklist-title").bounding_box()
    assert checklist_top["y"] > form_bottom["y"]


def test_field_errors_are_summarised_and_linked_to_the_fields(page, db):
    fill_login(page, kvnr="A12", pin="ABCD-EFGH-JKLM")
    page.locator("form.form button[type=submit]").click()

    summary = page.get_by_role("alert")
    expect(summary).to_be_focused()
    summary.get_by_role("link").click()
    expect(page.locator("#id_kvnr")).to_be_focused()
    expect(page.locator("#id_kvnr")).to_have_attribute("aria-invalid", "true")


def test_caps_lock_shows_the_warning_next_to_the_pin(page, db):
    page.goto("/anmelden/")
    pin = page.locator("#id_pin")
    expect(page.locator("#pin-caps")).to_be_hidden()

    pin.dispatch_event("keydown", {"key": "A", "modifierCapsLock": True})

    expect(page.locator("#pin-caps")).to_be_visible()


def test_caps_lock_warning_goes_when_caps_lock_is_off(page, db):
    page.goto("/anmelden/")
    pin = page.locator("#id_pin")
    pin.dispatch_event("keydown", {"key": "A", "modifierCapsLock": True})

    pin.dispatch_event("keydown", {"key": "a", "modifierCapsLock": False})

    expect(page.locator("#pin-caps")).to_be_hidden()


def test_pin_can_be_shown_and_hidden_again(page, db):
    page.goto("/anmelden/")
    pin = page.locator("#id_pin")

    page.get_by_role("button", name="PIN anzeigen").click()
    expect(pin).to_have_attribute("type", "text")
    page.get_by_role("button", name="PIN verbergen").click()

    expect(pin).to_have_attribute("type", "password")


def test_english_switch_translates_the_page_and_stays_on_it(page, db):
    page.goto("/datenschutz/")

    page.get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy notice")
    page.goto("/anmelden/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your one-time PIN")


def signed_in_until_the_warning(page: Page, member, issue_pin, settings, *, idle: int, warning: int):
    """Sign in with an idle timeout of `idle` seconds, warned `warning` seconds before; returns the open warning."""
    settings.MEMBER_IDLE_TIMEOUT_SECONDS = idle
    settings.MEMBER_IDLE_WARNING_SECONDS = warning
    issued = issue_pin(member)
    sign_in(page, kvnr=member.kvnr, pin=issued.plaintext)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_idle_timeout_warns_and_then_signs_out(page, member, issue_pin, settings):
    signed_in_until_the_warning(page, member, issue_pin, settings, idle=4, warning=3)

    expect(page.get_by_role("heading", level=1)).to_have_text("Sie sind abgemeldet", timeout=15_000)
    expect(page.get_by_text("weil Sie eine Weile nichts getan haben")).to_be_visible()
    page.goto("/uebersicht/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden mit Ihrer Einmal-PIN")


def test_stay_signed_in_closes_the_warning_and_keeps_the_session(page, member, issue_pin, settings):
    # The warning opens 3 seconds after each page load or keep-alive.
    dialog = signed_in_until_the_warning(page, member, issue_pin, settings, idle=60, warning=57)

    with page.expect_response("**/sitzung/verlaengern/") as keepalive:
        dialog.get_by_role("button", name="Angemeldet bleiben").click()

    assert keepalive.value.json()["remaining"] == 60
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Willkommen, {member.full_name}")


def test_pages_fit_a_360_px_wide_phone_without_sideways_scrolling(page, db):
    page.set_viewport_size({"width": 360, "height": 740})
    too_wide = []
    for path in ["/", "/anmelden/", "/datenschutz/", "/impressum/", "/abgemeldet/"]:
        page.goto(path)
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            too_wide.append(path)
    sign_in(page, kvnr="A123456780", pin="ABCD-EFGH-JKLM")
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
        too_wide.append("failed login")

    assert too_wide == []


def axe_violations(page: Page) -> str:
    results = Axe().run(page)
    return results.generate_report() if results.violations_count else ""


@pytest.mark.slow(5)
@pytest.mark.parametrize("language", ["de", "en"])
def test_axe_finds_no_violations_on_any_page(page, live_server, member, issue_pin, settings, language):
    settings.LOGIN_THROTTLE_IP_LIMIT = 1
    page.context.add_cookies([{"name": "portal_language", "value": language, "url": live_server.url}])
    issued = issue_pin(member)
    reports = {}

    def check(name: str) -> None:
        expect(page.locator("html")).to_have_attribute("lang", language)
        reports[name] = axe_violations(page)

    page.goto("/")
    page.locator("details").last.locator("summary").click()
    check("start page with help open")
    for path in ["/datenschutz/", "/impressum/", "/abgemeldet/?grund=inaktiv", "/anmelden/"]:
        page.goto(path)
        check(path)
    sign_in(page, kvnr="A12", pin="x")
    check("login with field errors")
    sign_in(page, kvnr=member.kvnr, pin=issued.plaintext)
    check("dashboard")
    page.evaluate("document.getElementById('session-dialog').showModal()")
    check("session warning")
    page.locator("#session-dialog form:not([data-keepalive]) button").click()
    check("signed out")
    sign_in(page, kvnr=member.kvnr, pin=wrong_secret(issued.plaintext))
    check("failed login")
    page.goto("/anmelden/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        {"de": "Zu viele Anmeldeversuche", "en": "Too many sign-in attempts"}[language]
    )
    check("too many attempts")

    assert {name: report for name, report in reports.items() if report} == {}
