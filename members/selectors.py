"""Reads of members for the apps above: one member by id, the address rows of many by KVNR."""

from .models import Member


def member_get(*, member_id: int) -> Member | None:
    """The member with this id, or None."""
    return Member.objects.filter(pk=member_id).first()


def member_rows_by_kvnr(*, kvnrs: list[str]) -> dict[str, dict]:
    """{kvnr: {id, kvnr, street, postcode, town, egk_valid_until}} of the members found among `kvnrs`."""
    rows = Member.objects.filter(kvnr__in=kvnrs).values("id", "kvnr", "street", "postcode", "town", "egk_valid_until")
    return {row["kvnr"]: row for row in rows}
