"""Reads of PINs for the apps above pins: a member's PINs, counts by status. Never a PIN or its hash."""

import datetime

from django.db.models import OuterRef, QuerySet
from django.db.models.functions import Coalesce

from core.queries import count_by
from members.models import Member

from .models import LetterPin


def pins_for_member(*, member: Member) -> QuerySet[LetterPin]:
    """The member's PINs, newest first."""
    return LetterPin.objects.filter(member=member).order_by("-issued_at")


def pin_counts_by_status() -> dict[str, int]:
    """{status: PINs} over all members (the metrics)."""
    return count_by(queryset=LetterPin.objects.all())


def pins_of_outer_member_ending_after(*, cutoff: datetime.datetime) -> QuerySet[LetterPin]:
    """PINs of the outer query's `member_id` that ended (or end) after `cutoff`: for Exists() in a purge."""
    return (
        LetterPin.objects.filter(member_id=OuterRef("member_id"))
        .annotate(end=Coalesce("ended_at", "expires_at"))
        .filter(end__gt=cutoff)
    )
