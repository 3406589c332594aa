"""Tests for campaigns/services.py: exactly one letter per member, start/pause/resume/cancel, batches, preview."""

import datetime
import io
import zipfile

import pytest
from pypdf import PdfReader

from campaigns.constants import CampaignStatus
from campaigns.exceptions import CampaignStateError
from campaigns.models import Campaign, CampaignBatch, CampaignRecipient
from campaigns.services import (
    campaign_batch_ready,
    campaign_cancel,
    campaign_pause,
    campaign_preview,
    campaign_render_chunk,
    campaign_resume,
    campaign_start,
)
from letters.constants import LetterStatus
from letters.exceptions import LetterStateError
from letters.models import LetterRequest, PrintBatch
from letters.rendering import SPECIMEN_PIN, LetterRenderError
from letters.services import batch_collect_prepared_archive, letter_pdf
from pins.constants import PinStatus
from pins.models import LetterPin
from tests.helpers import broker_unreachable
from tests.letters.pdf import pin_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a campaign action and the (eager) worker tasks it sends on commit."""

    def _run(action, campaign, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(campaign_id=campaign.pk, user=None, **kwargs)

    return _run


def _letters(campaign):
    return LetterRequest.objects.filter(campaign_recipient__campaign=campaign)


def test_start_gives_every_member_exactly_one_letter_with_a_pin_in_its_pdf(make_campaign, members, run):
    campaign = make_campaign(members)
    run(campaign_start, campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FINISHED
    letters = list(_letters(campaign).select_related("pin"))
    assert len(letters) == 5
    assert sorted(letter.member_id for letter in letters) == sorted(member.pk for member in members)
    letter = letters[0]
    assert pin_in(letter_pdf(letter=letter))
    assert letter.case_title == "Familienversicherung 2027"
    assert LetterPin.objects.filter(member__in=members).count() == 5


def test_running_chunks_again_or_starting_twice_doubles_nothing(make_campaign, members, run):
    campaign = make_campaign(members)
    run(campaign_start, campaign)
    first, last = (
        CampaignRecipient.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)[i]
        for i in (0, 4)
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.RUNNING)
    assert campaign_render_chunk(campaign_id=campaign.pk, first_id=first, last_id=last) == 0
    with pytest.raises(CampaignStateError, match="läuft bereits"):
        run(campaign_start, campaign)
    assert _letters(campaign).count() == 5
    assert LetterPin.objects.filter(member__in=members).count() == 5


def test_the_database_refuses_a_second_recipient_row_for_a_member(make_campaign, members):
    from django.db import IntegrityError, transaction

    campaign = make_campaign(members)
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignRecipient.objects.create(campaign=campaign, member=members[0])


def test_a_paused_campaign_renders_nothing_and_resume_finishes_it_once(make_campaign, members, run, settings):
    campaign = make_campaign(members)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.PAUSED)
    ids = list(CampaignRecipient.objects.filter(campaign=campaign).values_list("pk", flat=True))
    assert campaign_render_chunk(campaign_id=campaign.pk, first_id=min(ids), last_id=max(ids)) == 0
    with pytest.raises(CampaignStateError, match="Nur eine laufende"):
        run(campaign_pause, campaign)
    run(campaign_resume, campaign)
    assert _letters(campaign).count() == 5
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FINISHED
    with pytest.raises(CampaignStateError, match="abgeschlossen"):
        run(campaign_pause, campaign)


def test_batches_hold_each_letter_once_and_are_collected_once(make_campaign, members, run, settings):
    settings.CAMPAIGN_BATCH_SIZE = 2
    campaign = make_campaign(members)
    run(campaign_start, campaign)
    batches = [link.batch for link in CampaignBatch.objects.filter(campaign=campaign).order_by("batch_id")]
    assert [batch.letter_count for batch in batches] == [2, 2, 1]
    assert _letters(campaign).filter(batch__isnull=True).count() == 0
    assert _letters(campaign).values("batch").distinct().count() == 3
    # Forming batches again adds nothing.
    assert campaign_batch_ready(campaign_id=campaign.pk, final=True) == 0

    user = None
    out = io.BytesIO()
    batch_collect_prepared_archive(batch_id=batches[0].pk, user=user, out=out)
    with zipfile.ZipFile(out) as bundle:
        pdf = bundle.read(f"{batches[0].reference}.pdf")
        manifest = bundle.read(f"{batches[0].reference}.csv").decode()
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    assert manifest.count("\n") == 3
    with pytest.raises(LetterStateError, match="bereits abgeholt"):
        batch_collect_prepared_archive(batch_id=batches[0].pk, user=user, out=io.BytesIO())
    assert _letters(campaign).filter(status=LetterStatus.COLLECTED).count() == 2


def test_a_print_batch_forms_as_soon_as_its_size_is_rendered_not_when_the_chunk_ends(
    make_campaign, run, settings, monkeypatch
):
    """The issue saw the first batch of 1,000 at about 2,000 letters: batches formed only when a chunk ended."""
    from campaigns.services import worker
    from tests.factories import MemberFactory

    settings.CAMPAIGN_CHUNK_SIZE = 50
    settings.CAMPAIGN_RENDER_GROUP = 5
    settings.CAMPAIGN_BATCH_SIZE = 10
    campaign = make_campaign(MemberFactory.create_batch(25))
    rendered_when_formed = []
    prepare = worker.batch_prepare

    def recording(**kwargs):
        rendered_when_formed.append(_letters(campaign).count())
        return prepare(**kwargs)

    monkeypatch.setattr(worker, "batch_prepare", recording)
    run(campaign_start, campaign)
    # One chunk of 25: a batch at 10 and at 20 rendered letters, the rest of 5 when the campaign finishes.
    assert rendered_when_formed == [10, 20, 25]
    sizes = [link.batch.letter_count for link in CampaignBatch.objects.filter(campaign=campaign).order_by("batch_id")]
    assert sizes == [10, 10, 5]


def test_cancel_ends_the_pins_not_yet_printed_and_keeps_collected_ones(make_campaign, members, run, settings):
    settings.CAMPAIGN_BATCH_SIZE = 2
    campaign = make_campaign(members)
    run(campaign_start, campaign)
    first, second = (link.batch for link in CampaignBatch.objects.filter(campaign=campaign).order_by("batch_id")[:2])
    batch_collect_prepared_archive(batch_id=first.pk, user=None, out=io.BytesIO())
    run(campaign_cancel, campaign)
    letters = _letters(campaign).select_related("pin")
    assert letters.filter(status=LetterStatus.COLLECTED).count() == 2
    assert letters.filter(status=LetterStatus.CANCELLED).count() == 3
    assert all(letter.pin.status != PinStatus.ACTIVE for letter in letters if letter.status == LetterStatus.CANCELLED)
    assert all(letter.pin.status == PinStatus.ACTIVE for letter in letters if letter.status == LetterStatus.COLLECTED)
    with pytest.raises(LetterStateError, match="kein Brief mehr"):
        batch_collect_prepared_archive(batch_id=second.pk, user=None, out=io.BytesIO())
    with pytest.raises(CampaignStateError, match="bereits abgebrochen"):
        run(campaign_cancel, campaign)
    assert PrintBatch.objects.get(pk=second.pk).collected_at is None


def test_shorter_validity_moves_the_pins_last_day(make_campaign, members, run):
    from django.utils import timezone

    campaign = make_campaign(members[:1], validity_days=14)
    run(campaign_start, campaign)
    pin = _letters(campaign).get().pin
    days = (timezone.localdate(pin.expires_at) - timezone.localdate(pin.issued_at)).days
    assert days in (13, 14)


def test_preview_shows_three_letters_with_the_specimen_pin_and_writes_nothing(make_campaign, members):
    campaign = make_campaign(members)
    pdf = campaign_preview(campaign_id=campaign.pk)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 3
    assert SPECIMEN_PIN in reader.pages[0].extract_text()
    assert members[0].full_name in reader.pages[0].extract_text()
    assert not LetterRequest.objects.exists()
    assert not LetterPin.objects.exists()


def test_a_letter_that_cannot_be_rendered_fails_alone_with_its_reason(make_campaign, members, run, monkeypatch):
    from letters import layered  # the worker imports it when it sets letters

    original = layered.render_campaign_letters
    broken = members[2].full_name

    def failing(*, contents, template):
        if any(content.full_name == broken for content in contents):
            raise LetterRenderError("Brief konnte nicht gesetzt werden (Test)")
        return original(contents=contents, template=template)

    monkeypatch.setattr(layered, "render_campaign_letters", failing)
    campaign = make_campaign(members)
    run(campaign_start, campaign)
    assert _letters(campaign).count() == 4
    failed = CampaignRecipient.objects.get(campaign=campaign, member=members[2])
    assert failed.letter is None
    assert "Test" in failed.failure_reason
    assert not LetterPin.objects.filter(member=members[2]).exists()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FINISHED


def test_a_start_with_the_broker_down_is_kept_and_left_to_the_watchdog(
    make_campaign, members, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from campaigns.services import campaign_stalled
    from campaigns.tasks import campaign_dispatch

    broker_unreachable(monkeypatch, campaign_dispatch)
    campaign = make_campaign(members)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_start(campaign_id=campaign.pk, user=None)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    assert "not enqueued (ConnectionError)" in caplog.text
    assert campaign_stalled(minutes=1) == []
    Campaign.objects.filter(pk=campaign.pk).update(started_at=campaign.started_at - datetime.timedelta(minutes=2))
    assert campaign_stalled(minutes=1) == [campaign.pk]
