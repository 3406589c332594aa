"""Bench members with a fresh PIN each, shared by the HTTP benchmarks (Django must be set up first)."""

import datetime

from django.utils import timezone

from audit.services import Actor
from members.kvnr import kvnr_check_digit
from members.services import member_upsert
from pins.services import IssuedPin, pin_issue


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
