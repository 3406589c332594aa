"""Reads for campaigns: a campaign's progress in one aggregate query, its print batches, its letters waiting for one."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from letters.constants import LetterStatus
from letters.models import LetterRequest

from .models import Campaign, CampaignRecipient


def campaign_progress(*, campaign: Campaign) -> dict:
    """Counts for the admin's progress bar: planned, PIN issued, rendered, in a batch, collected, cancelled, failed."""
    counts = CampaignRecipient.objects.filter(campaign=campaign).aggregate(
        planned=Count("pk"),
        issued=Count("pk", filter=Q(letter__pin__isnull=False)),
        rendered=Count("pk", filter=Q(letter__status__in=[LetterStatus.RENDERED, LetterStatus.COLLECTED])),
        batched=Count("pk", filter=Q(letter__batch__isnull=False)),
        collected=Count("pk", filter=Q(letter__status=LetterStatus.COLLECTED)),
        cancelled=Count("pk", filter=Q(letter__status=LetterStatus.CANCELLED)),
        failed=Count("pk", filter=~Q(failure_reason="")),
    )
    counts["status"] = campaign.status
    counts["status_display"] = str(campaign.get_status_display())
    done = counts["rendered"] + counts["cancelled"] + counts["failed"]
    counts["percent"] = round(100 * done / counts["planned"], 1) if counts["planned"] else 0.0
    return counts


def campaign_failures(*, campaign: Campaign, limit: int = 20) -> list[tuple[str, str]]:
    """(KVNR, reason) of recipients whose letter could not be made."""
    rows = (
        CampaignRecipient.objects.filter(campaign=campaign)
        .exclude(failure_reason="")
        .order_by("pk")
        .values_list("member__kvnr", "failure_reason")[:limit]
    )
    return list(rows)


def campaign_batches(*, campaign: Campaign) -> list:
    return [link.batch for link in campaign.batches.select_related("batch").order_by("batch__prepared_at", "pk")]


def _letters_waiting_for_a_batch(*, campaign_id: int) -> QuerySet[LetterRequest]:
    """The campaign's rendered letters in no print batch yet, oldest first.

    Read from the small index of the letters that wait for a batch (letters_rendered_unbatched), each letter
    asked for its campaign through its recipient row's unique letter: what it costs follows the letters waiting,
    never the campaign's size. (A join let the planner, with the statistics of tables that were empty a minute
    ago, compare every waiting letter with every recipient of the campaign: 65 ms a question at 2,000 letters.)
    """
    campaign_of_letter = CampaignRecipient.objects.filter(letter_id=OuterRef("pk")).values("campaign_id")[:1]
    return (
        LetterRequest.objects.filter(status=LetterStatus.RENDERED, batch__isnull=True)
        .alias(campaign_id=Subquery(campaign_of_letter))
        .filter(campaign_id=campaign_id)
        .order_by("id")
    )


def campaign_letters_waiting_reach(*, campaign_id: int, count: int) -> bool:
    """Whether at least `count` of the campaign's rendered letters wait for a print batch."""
    return _letters_waiting_for_a_batch(campaign_id=campaign_id)[count - 1 : count].exists()


def campaign_letter_ids_waiting(*, campaign_id: int, limit: int) -> list[int]:
    """Up to `limit` ids of the campaign's rendered letters in no print batch yet, oldest first."""
    return list(_letters_waiting_for_a_batch(campaign_id=campaign_id).values_list("id", flat=True)[:limit])
