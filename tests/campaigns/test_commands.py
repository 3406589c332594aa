"""Tests for `manage.py campaign`: start from a CSV with progress, clear errors for bad lists and wrong states."""

import io

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import Campaign
from letters.models import LetterRequest

pytestmark = pytest.mark.django_db


def test_start_from_a_csv_prints_counts_and_progress(tmp_path, members, django_capture_on_commit_callbacks):
    path = tmp_path / "liste.csv"
    path.write_text("kvnr\n" + "\n".join(m.kvnr for m in members) + "\n")
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("campaign", "start", csv=path, name="Bonus", case="Bonusprogramm 2027", stdout=out)
    campaign = Campaign.objects.get()
    assert f"{campaign.reference}: 5 recipients" in out.getvalue()
    assert LetterRequest.objects.count() == 5
    out = io.StringIO()
    call_command("campaign", "status", id=campaign.pk, stdout=out)
    assert "finished" in out.getvalue()
    assert "rendered 5" in out.getvalue()
    with pytest.raises(CommandError, match="kann nicht gestartet werden"):
        call_command("campaign", "start", id=campaign.pk, stdout=io.StringIO())


def test_a_bad_list_names_the_line_and_creates_nothing(tmp_path, members):
    path = tmp_path / "liste.csv"
    path.write_text(f"{members[0].kvnr}\nX12\n")
    with pytest.raises(CommandError, match="line 2"):
        call_command("campaign", "start", csv=path, name="Bonus", case="Bonus", stdout=io.StringIO())
    assert not Campaign.objects.exists()
