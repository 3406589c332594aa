"""Issuing PINs: a new PIN for a member's case, valid through its last day (pins.services.validity), beside their others."""

import datetime
import secrets
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record
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
        free = [a + b for a in PIN_ALPHABET for b in PIN_ALPHABET if a + b not in used]
        if not free:
            raise RuntimeError("member has no free PIN selector left")
        selector = secrets.choice(free)
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
            used.add(selector)
            continue
        return IssuedPin(pin=pin, plaintext=plaintext)
    raise RuntimeError("could not find a free PIN selector")
