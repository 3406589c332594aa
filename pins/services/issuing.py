"""Issuing PINs: a new PIN for a member's case, valid through its last day (pins.services.validity), beside their others."""

import datetime
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record, audit_record_many
from members.models import Member

from .. import hashing
from ..constants import PIN_ALPHABET, SELECTOR_TRIES
from ..format import pin_display, pin_generate
from ..models import LetterPin
from .validity import pin_valid_until


@dataclass(frozen=True)
class IssuedPin:
    """A new PIN. `plaintext` exists only here, once, for the letter; it is never stored or logged."""

    pin: LetterPin
    plaintext: str = field(repr=False)

    @property
    def display(self) -> str:
        return pin_display(self.plaintext)


def pin_issue(
    *,
    member: Member,
    purpose: str,
    actor: Actor,
    now: datetime.datetime | None = None,
    validity_days: int | None = None,
) -> IssuedPin:
    """Create a PIN for the member; the member's other PINs stay valid.

    It works through the PIN_VALIDITY_DAYS-th day, or through the `validity_days`-th when the caller gives a
    shorter validity (a campaign's); never longer. The audit row states the date the PIN is written with.
    """
    now = now or timezone.now()
    expires_at = pin_valid_until(issued_at=now, days=validity_days)
    used = set(LetterPin.objects.filter(member=member).values_list("selector", flat=True))
    for _try in range(SELECTOR_TRIES):
        issued = _pin_new(member=member, selector=_selector_free(used), purpose=purpose, now=now, expires_at=expires_at)
        pin = issued.pin
        try:
            with transaction.atomic():
                pin.save()
                audit_record(
                    action=AuditAction.PIN_ISSUED,
                    actor=actor,
                    member=member,
                    reason=purpose,
                    data={"pin_id": pin.pk, "expires_at": pin.expires_at.isoformat()},
                )
        except IntegrityError:
            # Another PIN took this selector at the same moment: pick again.
            used.add(pin.selector)
            continue
        return issued
    raise RuntimeError("could not find a free PIN selector")


def _pin_new(
    *, member: Member, selector: str, purpose: str, now: datetime.datetime, expires_at: datetime.datetime
) -> IssuedPin:
    """A PIN for the member with that selector, not yet saved, and its plaintext for the letter."""
    plaintext = pin_generate(selector=selector)
    pin = LetterPin(
        user_id=member.user_id,
        member=member,
        name=f"Brief-PIN {now:%Y-%m-%d}",
        selector=selector,
        pin_hash=hashing.pin_hash_create(plaintext),
        purpose=purpose[:200],
        issued_at=now,
        expires_at=expires_at,
    )
    return IssuedPin(pin=pin, plaintext=plaintext)


def _selector_free(used: set[str]) -> str:
    """A selector the member has no PIN with, picked uniformly among the free ones."""
    if len(used) >= len(PIN_ALPHABET) ** 2:
        raise RuntimeError("member has no free PIN selector left")
    while True:
        selector = secrets.choice(PIN_ALPHABET) + secrets.choice(PIN_ALPHABET)
        if selector not in used:
            return selector


def pins_issue_many(
    *, members: Sequence[Member], purpose: str, actor: Actor, validity_days: int | None = None
) -> list[IssuedPin]:
    """A new PIN for each member (a campaign's group of letters), in the members' order: what pin_issue makes,
    written in one statement with their PIN_ISSUED audit rows in one more, in the caller's transaction.

    Should another process take one of the chosen selectors meanwhile, nothing of the statement stays and each
    PIN is issued on its own by pin_issue (which picks again).
    """
    now = timezone.now()
    expires_at = pin_valid_until(issued_at=now, days=validity_days)
    used: defaultdict[int, set[str]] = defaultdict(set)
    for member_id, selector in LetterPin.objects.filter(member__in=members).values_list("member_id", "selector"):
        used[member_id].add(selector)
    issued = []
    for member in members:
        selector = _selector_free(used[member.pk])
        used[member.pk].add(selector)
        issued.append(_pin_new(member=member, selector=selector, purpose=purpose, now=now, expires_at=expires_at))
    try:
        with transaction.atomic():
            LetterPin.objects.bulk_create([one.pin for one in issued])
            audit_record_many(
                action=AuditAction.PIN_ISSUED,
                actor=actor,
                reason=purpose,
                entries=[
                    (one.pin.member_id, {"pin_id": one.pin.pk, "expires_at": expires_at.isoformat()}) for one in issued
                ],
            )
    except IntegrityError:
        return [
            pin_issue(member=member, purpose=purpose, actor=actor, now=now, validity_days=validity_days)
            for member in members
        ]
    return issued
