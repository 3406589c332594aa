"""Reads for campaigns: a campaign's progress in one aggregate query, its print batches."""

from django.db.models import Count, Q

from letters.constants import LetterStatus

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
