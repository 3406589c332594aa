"""PIN statuses, reasons for ending a PIN, the outcomes of a login attempt, and the PIN alphabet."""

from django.conf import settings
from django.db import models
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Upper-case letters and digits without look-alikes (no 0/O, no 1/I/l): 32 symbols, 5 bits each.
# PINs are case-insensitive: entry is upper-cased, so Caps Lock can never make a correct PIN fail.
PIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
SELECTOR_LENGTH = 2  # non-secret part that selects the PIN's row among the member's PINs
SECRET_LENGTH = 10  # 10 x 5 = 50 bits of secret entropy
PIN_LENGTH = SELECTOR_LENGTH + SECRET_LENGTH
PIN_GROUP = 4  # shown as XXXX-XXXX-XXXX
SELECTOR_TRIES = 5  # picks of a free selector before issuing gives up (two issues racing for one selector)


def _locked_label() -> str:
    # Read when shown, so that the label always names the limit in force (PIN_MAX_FAILED_ATTEMPTS).
    return gettext("gesperrt nach %(count)s Fehleingaben") % {"count": settings.PIN_MAX_FAILED_ATTEMPTS}


class PinStatus(models.TextChoices):
    ACTIVE = "active", _("aktiv")
    LOCKED = "locked", lazy(_locked_label, str)()
    EXPIRED = "expired", _("abgelaufen")
    INVALIDATED = "invalidated", _("ungültig gemacht")


def pin_status_choices() -> list[tuple[str, str]]:
    """The status choices for LetterPin.status: a callable, so that migrations never record the limit's label."""
    return PinStatus.choices


class EndReason(models.TextChoices):
    TRANSMITTED = "transmitted", _("Daten übermittelt")
    CANCELLED = "cancelled", _("Brief storniert")
    STAFF = "staff", _("durch Mitarbeiter gesperrt")


class VerifyResult(models.TextChoices):
    SUCCESS = "success", _("Anmeldung erfolgreich")
    WRONG = "wrong", _("PIN falsch")
    UNKNOWN = "unknown", _("KVNR unbekannt")
    LOCKED = "locked", _("PIN gesperrt")
    EXPIRED = "expired", _("PIN abgelaufen")
    CARD_INVALID = "card_invalid", _("Gesundheitskarte nicht mehr gültig")
    ALREADY_USED = "already_used", _("Daten bereits übermittelt")
    REVOKED = "revoked", _("PIN ungültig gemacht")
