"""Reads of members for the apps above: one member by id."""

from .models import Member


def member_get(*, member_id: int) -> Member | None:
    """The member with this id, or None."""
    return Member.objects.filter(pk=member_id).first()
