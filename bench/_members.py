"""Bench members: with a fresh PIN each (the HTTP benchmarks), or many at once (letters, campaign); Django first."""

import datetime
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.services import Actor
from members.kvnr import kvnr_check_digit
from members.models import Member
from members.services import member_upsert
from pins.services import IssuedPin, pin_issue
from tests.factories import make_kvnr


def bench_member_with_pin(*, number: int, last_name: str, purpose: str) -> IssuedPin:
    """Upsert the bench member with this number (reruns reuse it) and issue it a new PIN."""
    head = f"B{number:08d}"
    member, _created = member_upsert(
        kvnr=head + str(kvnr_check_digit(head)),
        data={
            "first_name": "Bench",
            "last_name": last_name,
            "street": "Teststraße 1",
            "postcode": "50667",
            "town": "Köln",
            "egk_valid_until": timezone.localdate() + datetime.timedelta(days=365),
        },
    )
    return pin_issue(member=member, purpose=purpose, actor=Actor.system())


def bench_members_bulk_create(
    *, first: int, count: int, kvnr_letter: str, **varying: Callable[[int], str]
) -> list[Member]:
    """`count` members numbered from `first`, each with a user, written in bulk (no audit rows: bench data only).

    Erika Mustermann<number> in Köln, German, card valid until 2030; `varying` gives a field's value for the n-th
    member of this call (street=lambda n: ..., say). The KVNRs start with `kvnr_letter`.
    """
    user_model = get_user_model()
    users = user_model.objects.bulk_create(user_model(username=f"bench-{first + n}") for n in range(count))
    return Member.objects.bulk_create(
        Member(
            user=user,
            kvnr=make_kvnr(first + n, letter=kvnr_letter),
            first_name="Erika",
            last_name=f"Mustermann{first + n}",
            postcode="51147",
            town="Köln",
            egk_valid_until=datetime.date(2030, 1, 1),
            **{"street": "Heidestraße 17", "language": "de", **{name: value(n) for name, value in varying.items()}},
        )
        for n, user in enumerate(users)
    )
