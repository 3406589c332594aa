"""In Chromium: a campaigns user creates a small campaign in the admin, previews it, starts it, and the print shop
collects its batch."""

import io
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from campaigns.constants import CAMPAIGN_ROLE
from campaigns.models import Campaign
from letters.constants import LetterStatus
from letters.models import LetterRequest
from staff.constants import Role
from tests.factories import MemberFactory, UserFactory
from tests.staff.factories import STAFF_PASSWORD, browser_log_in, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def open_page(browser, live_server):
    contexts = []

    def _open(width: int = 1280):
        context = browser.new_context(
            base_url=live_server.url, locale="de-DE", accept_downloads=True, viewport={"width": width, "height": 900}
        )
        contexts.append(context)
        return context.new_page()

    yield _open
    for context in contexts:
        context.close()


def _campaigns_staff():
    user = UserFactory(username="kampagnen-1", is_staff=True)
    user.set_password(STAFF_PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=CAMPAIGN_ROLE))
    return SimpleNamespace(user=user, device=TOTPDevice.objects.create(user=user, name="Telefon", confirmed=True))


@pytest.mark.slow(5)
def test_a_campaign_is_created_previewed_started_and_its_batch_collected(open_page):
    members = MemberFactory.create_batch(3)
    page = open_page()
    browser_log_in(page, _campaigns_staff())
    page.goto("/admin/campaigns/campaign/add/")
    page.fill("#id_name", "Familienversicherung Browser")
    page.fill("#id_case_title", "Familienversicherung 2027")
    page.fill("#id_validity_days", "30")
    csv = ("kvnr\n" + "\n".join(member.kvnr for member in members) + "\n").encode()
    page.set_input_files("#id_members_csv", {"name": "liste.csv", "mimeType": "text/csv", "buffer": csv})
    page.click("input[name=_continue]")
    page.wait_for_selector("#campaign-counts")
    assert "3 Mitglieder bekommen einen Brief." in page.inner_text("#campaign-counts")

    preview = page.request.get(page.get_attribute("#campaign-preview", "href"))
    assert preview.headers["content-type"] == "application/pdf"
    assert preview.body().startswith(b"%PDF")
    assert not LetterRequest.objects.exists()

    page.click("button[value=start]")
    page.wait_for_selector(".messagelist .success")
    assert page.inner_text("#campaign-progress [data-field=rendered]") == "3"
    assert page.inner_text("#campaign-progress [data-field=percent]") == "100.0"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "campaign-1280.png"), full_page=True)
    narrow = open_page(375)
    narrow.context.add_cookies(page.context.cookies())
    narrow.goto(page.url)
    narrow.screenshot(path=str(SHOTS / "campaign-375.png"), full_page=True)

    campaign = Campaign.objects.get()
    assert LetterRequest.objects.filter(campaign_recipient__campaign=campaign, batch__isnull=False).count() == 3

    shop = open_page()
    browser_log_in(shop, make_staff(Role.PRINT_SHOP))
    shop.goto("/druckerei/")
    with shop.expect_download() as download:
        shop.click("text=Abholen")
    with zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())) as bundle:
        names = bundle.namelist()
    assert any(name.endswith(".pdf") for name in names) and any(name.endswith(".csv") for name in names)
    assert LetterRequest.objects.filter(status=LetterStatus.COLLECTED).count() == 3


def test_the_progress_bar_moves_without_reloading(open_page):
    from campaigns.constants import CampaignStatus
    from campaigns.services import campaign_create, campaign_render_chunk, member_list_read
    from tests.campaigns.conftest import csv_of

    members = MemberFactory.create_batch(2)
    campaign = campaign_create(
        name="Fortschritt",
        case_title="Bonusprogramm",
        template="standard",
        validity_days=60,
        members=member_list_read(upload=csv_of(*[member.kvnr for member in members])),
        user=None,
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.RUNNING)
    page = open_page()
    browser_log_in(page, _campaigns_staff())
    page.goto(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.inner_text("#campaign-progress [data-field=rendered]") == "0"
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    ids = sorted(campaign.recipients.values_list("pk", flat=True))
    campaign_render_chunk(campaign_id=campaign.pk, first_id=ids[0], last_id=ids[-1])

    # The page's script polls the progress JSON; the counts change in place (no eval here: the CSP forbids it).
    expect(page.locator("#campaign-progress [data-field=rendered]")).to_have_text("2", timeout=15000)
    expect(page.locator("#campaign-progress [data-field=percent]")).to_have_text("100.0")
    assert navigations == []
