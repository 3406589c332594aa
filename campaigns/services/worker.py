"""The campaign worker's steps: split into chunks, render a chunk's letters, form print batches, finish, watchdog.

Exactly once: a recipient row is unique per campaign and member, and its letter is created, rendered and linked in
one transaction that locks the row and only proceeds while the row has no letter; a task that runs twice, a
resumed campaign or a redelivered chunk after a killed worker finds the work done. Tasks carry ids only.
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.services import Actor
from letters.rendering import LetterRenderError
from letters.selectors import letter_newest_created_at_in_campaign
from letters.services import batch_prepare, letters_create_rendered

from ..constants import CampaignStatus
from ..models import Campaign, CampaignBatch, CampaignRecipient
from ..selectors import campaign_letter_ids_waiting, campaign_letters_waiting_reach
from .lifecycle import campaign_locked


def campaign_chunks(*, campaign_id: int, size: int | None = None) -> Iterable[tuple[int, int]]:
    """(first, last) recipient id ranges of about `size` recipients still waiting for their letter (worker only)."""
    size = size or settings.CAMPAIGN_CHUNK_SIZE
    waiting = CampaignRecipient.objects.filter(campaign_id=campaign_id, letter__isnull=True, failure_reason="")
    last = 0
    while True:
        ids = list(waiting.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        last = ids[-1]
        yield ids[0], ids[-1]


def _running(campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).first()


def _render_group(*, campaign: Campaign, ids: list[int]) -> int:
    """One transaction: lock the recipients still without a letter, make their letters together, link them."""
    with transaction.atomic():
        recipients = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("member")
            .filter(pk__in=ids, letter__isnull=True, failure_reason="")
            .order_by("pk")
        )
        if not recipients:
            return 0
        letters = letters_create_rendered(
            members=[recipient.member for recipient in recipients],
            purpose=f"Kampagne {campaign.reference}",
            case_title=campaign.case_title,
            template=campaign.template,
            validity_days=campaign.validity_days,
            actor=Actor.system(),
        )
        for recipient, letter in zip(recipients, letters, strict=True):
            recipient.letter = letter
        CampaignRecipient.objects.bulk_update(recipients, ["letter"])
    return len(recipients)


def campaign_render_chunk(*, campaign_id: int, first_id: int, last_id: int) -> int:
    """Issue and render the letters of recipients first_id..last_id that have none; returns how many were made.

    Letters are made CAMPAIGN_RENDER_GROUP at a time, each group in one transaction; the campaign's status is read
    before every group, so pause and cancel take effect within about a second. A group that cannot be rendered
    is retried one letter at a time, so one bad address fails only its own letter (with the reason). After each
    group, a print batch is formed as soon as CAMPAIGN_BATCH_SIZE rendered letters wait for one (whichever
    process rendered them), not only when a chunk ends.
    """
    made = 0
    # Members of one language share a static layer and a document: grouped by language, the documents stay full.
    ids = list(
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id, pk__gte=first_id, pk__lte=last_id, letter__isnull=True, failure_reason=""
        )
        .order_by("member__language", "pk")
        .values_list("pk", flat=True)
    )
    size = settings.CAMPAIGN_RENDER_GROUP
    for start in range(0, len(ids), size):
        campaign = _running(campaign_id)
        if campaign is None:
            break
        group = ids[start : start + size]
        try:
            made += _render_group(campaign=campaign, ids=group)
        except LetterRenderError:
            for recipient_id in group:
                try:
                    made += _render_group(campaign=campaign, ids=[recipient_id])
                except LetterRenderError as error:
                    CampaignRecipient.objects.filter(pk=recipient_id, letter__isnull=True).update(
                        failure_reason=str(error)[:200]
                    )
        campaign_batch_ready(campaign_id=campaign_id)
    return made


def campaign_stalled(*, minutes: int | None = None) -> list[int]:
    """Running campaigns whose last letter (or start) is older than CAMPAIGN_STALLED_MINUTES."""
    cutoff = timezone.now() - datetime.timedelta(minutes=minutes or settings.CAMPAIGN_STALLED_MINUTES)
    stalled = []
    for campaign in Campaign.objects.filter(status=CampaignStatus.RUNNING, started_at__lt=cutoff):
        newest = letter_newest_created_at_in_campaign(campaign_id=campaign.pk)
        if newest is None or newest < cutoff:
            stalled.append(campaign.pk)
    return stalled


def _try_lock(campaign_id: int) -> bool:
    """A transaction-scoped lock so that one process at a time forms the campaign's batches (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [0x4B41, campaign_id])
        return bool(cursor.fetchone()[0])


def campaign_batch_ready(*, campaign_id: int, final: bool = False) -> int:
    """Form print batches of CAMPAIGN_BATCH_SIZE rendered letters (and, when `final`, one of the rest)."""
    size = settings.CAMPAIGN_BATCH_SIZE
    made = 0
    if not final and not campaign_letters_waiting_reach(campaign_id=campaign_id, count=size):
        return made  # the cheap probe that runs after every group: not enough letters wait yet
    campaign = Campaign.objects.get(pk=campaign_id)
    while True:
        with transaction.atomic():
            if not _try_lock(campaign_id):
                return made
            ids = campaign_letter_ids_waiting(campaign_id=campaign_id, limit=size)
            if not ids or (len(ids) < size and not final):
                return made
            batch = batch_prepare(letter_ids=ids, label=f"{campaign.reference} {campaign.name}")
            if batch is None:
                return made
            CampaignBatch.objects.create(campaign_id=campaign_id, batch=batch)
            made += 1


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    """Mark a running campaign finished once no recipient waits, and batch the rest of its letters."""
    waiting = CampaignRecipient.objects.filter(campaign_id=campaign_id, letter__isnull=True, failure_reason="")
    with transaction.atomic():
        campaign = campaign_locked(campaign_id=campaign_id)
        if campaign.status != CampaignStatus.RUNNING or waiting.exists():
            return False
        campaign.status = CampaignStatus.FINISHED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at"])
    campaign_batch_ready(campaign_id=campaign_id, final=True)
    return True
