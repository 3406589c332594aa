"""Attack mode in headless Chromium: pressing "Anmelden" solves the proof of work and signs the member in."""

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from web.attack import attack_level, attack_note_global_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def under_attack(settings):
    cache.clear()
    settings.LOGIN_THROTTLE_GLOBAL_LIMIT = 10
    attack_note_global_count(count=10)
    assert attack_level() == 1
    yield
    cache.clear()


def test_under_attack_a_member_signs_in_by_pressing_anmelden(page, member, issue_pin, under_attack):
    issued = issue_pin(member)
    posted = []
    page.on("request", lambda request: posted.append(request.post_data or "") if request.method == "POST" else None)
    page.goto("/anmelden/")
    page.locator("#id_kvnr").fill(member.kvnr)
    page.locator("#id_pin").fill(issued.display)
    page.get_by_role("button", name="Anmelden").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Willkommen, {member.full_name}", timeout=30_000)
    login_posts = [body for body in posted if "kvnr=" in body]
    assert len(login_posts) == 1
    assert "altcha=ey" in login_posts[0]  # base64 of the JSON payload, solved in the browser's worker


def test_the_page_says_that_the_security_check_is_running(page, member, issue_pin, under_attack, settings):
    settings.LOGIN_ATTACK_CHALLENGE_COST = 20_000  # slow enough to see the state
    issued = issue_pin(member)
    page.goto("/anmelden/")
    page.locator("#id_kvnr").fill(member.kvnr)
    page.locator("#id_pin").fill(issued.display)
    page.get_by_role("button", name="Anmelden").click()
    status = page.get_by_role("status").filter(has_text="Sicherheitsprüfung läuft")
    expect(status).to_be_visible()
    expect(page.locator("#login-submit")).to_have_attribute("aria-disabled", "true")
