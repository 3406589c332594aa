"""Tests for the campaign admin: create from a CSV (all or nothing), counts, preview, actions, progress JSON."""

import io

import pytest
from django.urls import reverse

from campaigns.constants import CampaignStatus
from campaigns.models import Campaign
from letters.models import LetterRequest
from tests.campaigns.conftest import csv_of
from tests.factories import make_kvnr
from tests.helpers import login_member

pytestmark = pytest.mark.django_db


def _post_new(client, upload: io.BytesIO, **fields):
    upload.name = "liste.csv"
    data = {"name": "Familie", "case_title": "Familienversicherung 2027", "template": "standard", "validity_days": 60}
    data.update(fields)
    return client.post(reverse("admin:campaigns_campaign_add"), {**data, "members_csv": upload})


def test_a_bad_line_names_its_number_and_creates_no_campaign(campaigns_client, members):
    wrong = make_kvnr(5)[:-1] + str((int(make_kvnr(5)[-1]) + 1) % 10)
    response = _post_new(campaigns_client, csv_of(members[0].kvnr, wrong))
    assert response.status_code == 200
    assert "Zeile 2:" in response.content.decode()
    assert not Campaign.objects.exists()


def test_validity_above_60_days_is_refused(campaigns_client, members):
    response = _post_new(campaigns_client, csv_of(members[0].kvnr), validity_days=61)
    assert response.status_code == 200
    assert not Campaign.objects.exists()


def test_create_preview_start_and_progress(campaigns_client, members, django_capture_on_commit_callbacks):
    response = _post_new(campaigns_client, csv_of("kvnr", *[m.kvnr for m in members], members[0].kvnr))
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.recipient_count == 5
    page = campaigns_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "5 Mitglieder bekommen einen Brief." in page
    assert "Doppelt in der Liste (Zeilen): 7" in page
    assert 'src="/static/campaigns/progress.js"' in page

    preview = campaigns_client.get(reverse("admin:campaigns_campaign_preview", args=[campaign.pk]))
    assert preview["Content-Type"] == "application/pdf"
    assert "no-store" in preview["Cache-Control"]  # real members' names and addresses: never in a cache
    assert not LetterRequest.objects.exists()

    action = reverse("admin:campaigns_campaign_action", args=[campaign.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_client.post(action, {"action": "start"}).status_code == 302
    progress = campaigns_client.get(reverse("admin:campaigns_campaign_progress", args=[campaign.pk])).json()
    assert progress["planned"] == 5
    assert progress["rendered"] == 5
    assert progress["batched"] == 5
    assert progress["status"] == CampaignStatus.FINISHED
    assert progress["percent"] == 100.0

    response = campaigns_client.post(action, {"action": "start"}, follow=True)
    assert "kann nicht gestartet werden" in response.content.decode()
    assert LetterRequest.objects.count() == 5


def test_members_dashboard_shows_the_campaigns_case(client, make_campaign, members, django_capture_on_commit_callbacks):
    from campaigns.services import campaign_start

    campaign = make_campaign(members[:1])
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk, user=None)
    letter = LetterRequest.objects.get()
    login_member(client, letter.pin)
    page = client.get(reverse("web:dashboard")).content.decode()
    assert "Familienversicherung 2027" in page
