"""Reads of PINs for the apps above pins: a member's PINs, counts by status. Never a PIN or its hash."""

from django.db.models import QuerySet

from core.queries import count_by
from members.models import Member

from .models import LetterPin


def pins_for_member(*, member: Member) -> QuerySet[LetterPin]:
    """The member's PINs, newest first."""
    return LetterPin.objects.filter(member=member).order_by("-issued_at")


def pin_counts_by_status() -> dict[str, int]:
    """{status: PINs} over all members (the metrics)."""
    return count_by(queryset=LetterPin.objects.all())
