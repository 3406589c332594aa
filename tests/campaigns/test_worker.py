"""With a real Celery worker and Redis: a campaign whose dispatch and chunks arrive twice still gives one letter each."""

import time

import pytest
from django.db.models import Count

from campaigns.constants import CampaignStatus
from campaigns.models import Campaign, CampaignBatch
from campaigns.services import campaign_chunks, campaign_start
from campaigns.tasks import campaign_dispatch, campaign_render_chunk
from letters.models import LetterRequest
from pins.models import LetterPin
from tests.factories import MemberFactory
from tests.letters.celery_worker import WORKER_TEST_MARKS, running_worker

pytestmark = WORKER_TEST_MARKS


@pytest.fixture
def worker():
    with running_worker():
        yield


def test_duplicate_dispatches_and_chunks_make_one_letter_per_member(worker, settings, make_campaign):
    settings.CAMPAIGN_CHUNK_SIZE = 4
    settings.CAMPAIGN_RENDER_GROUP = 3
    settings.CAMPAIGN_BATCH_SIZE = 5
    members = MemberFactory.create_batch(11)
    campaign = make_campaign(members)
    chunks = list(campaign_chunks(campaign_id=campaign.pk))
    campaign_start(campaign_id=campaign.pk, user=None)
    # What a redelivery after a killed worker, a watchdog or a second operator would add on top.
    campaign_dispatch.delay(campaign.pk)
    for first_id, last_id in chunks:
        campaign_render_chunk.delay(campaign.pk, first_id, last_id)

    deadline = time.monotonic() + 180
    while Campaign.objects.get(pk=campaign.pk).status != CampaignStatus.FINISHED:
        assert time.monotonic() < deadline, "the campaign did not finish"
        time.sleep(0.5)
    time.sleep(2)  # let the duplicates that are still queued run (they must add nothing)

    letters = LetterRequest.objects.filter(campaign_recipient__campaign=campaign)
    assert letters.count() == 11
    assert not letters.values("member").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert LetterPin.objects.filter(member__in=members).count() == 11
    assert letters.filter(batch__isnull=True).count() == 0
    sizes = sorted(link.batch.letter_count for link in CampaignBatch.objects.filter(campaign=campaign))
    assert sum(sizes) == 11
    assert sizes[-1] <= 5
