"""Reads for the letters app: a member's letters with their history, the print queue, recent print batches."""

import datetime

from django.db.models import Min, QuerySet

from core.queries import count_by
from members.models import Member
from pins.constants import PinStatus

from .constants import LetterStatus
from .models import LetterRequest, PrintBatch


def letters_for_member(*, member: Member) -> QuerySet[LetterRequest]:
    """The member's letters, newest first, with their status history (for answering a call)."""
    return (
        LetterRequest.objects.filter(member=member)
        .select_related("pin", "requested_by", "collected_by", "batch")
        .prefetch_related("history", "history__by")
        .order_by("-created_at", "-id")
    )


def print_queue() -> QuerySet[LetterRequest]:
    """Letters ready for print, in the order they will be collected (oldest first); never one whose PIN ended."""
    return LetterRequest.objects.filter(
        status=LetterStatus.RENDERED, pin__status=PinStatus.ACTIVE, batch__isnull=True
    ).order_by("rendered_at", "id")


def print_batches_recent(*, limit: int = 20) -> list[PrintBatch]:
    collected = PrintBatch.objects.filter(collected_at__isnull=False)
    return list(collected.select_related("collected_by").order_by("-collected_at", "-id")[:limit])


def print_batches_prepared(*, limit: int = 50) -> list[PrintBatch]:
    """Batches made ahead (campaigns) that wait for the print shop, oldest first."""
    return list(PrintBatch.objects.filter(collected_at__isnull=True).order_by("prepared_at", "id")[:limit])


def letters_failed() -> QuerySet[LetterRequest]:
    """Letters the worker gave up on, with their reason, for staff to look at."""
    return LetterRequest.objects.filter(status=LetterStatus.FAILED).select_related("member").order_by("-id")


def letter_for_member(*, member: Member, letter_id: int) -> LetterRequest | None:
    """One of the member's letters by id, or None (also when the letter is another member's)."""
    return LetterRequest.objects.filter(pk=letter_id, member=member).first()


def letter_counts_by_status() -> dict[str, int]:
    """{status: letter requests} (the metrics)."""
    return count_by(queryset=LetterRequest.objects.all())


def letters_oldest_requested_at() -> datetime.datetime | None:
    """When the oldest letter still waiting for the worker was requested, or None when none waits."""
    return LetterRequest.objects.filter(status=LetterStatus.REQUESTED).aggregate(at=Min("created_at"))["at"]


def letter_newest_created_at_in_campaign(*, campaign_id: int) -> datetime.datetime | None:
    """When the newest letter of a campaign was created (None before the first)."""
    return (
        LetterRequest.objects.filter(campaign_recipient__campaign_id=campaign_id)
        .order_by("-id")
        .values_list("created_at", flat=True)
        .first()
    )
