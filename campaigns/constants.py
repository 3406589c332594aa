"""Campaign statuses, the reasons a member on the list gets no letter, the limits of a member list."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Entwurf")
    RUNNING = "running", _("läuft")
    PAUSED = "paused", _("angehalten")
    FINISHED = "finished", _("abgeschlossen")
    CANCELLED = "cancelled", _("abgebrochen")


class SkipReason(models.TextChoices):
    UNKNOWN_KVNR = "unknown_kvnr", _("KVNR unbekannt")
    NO_ADDRESS = "no_address", _("keine gültige Anschrift")
    CARD_EXPIRED = "card_expired", _("Gesundheitskarte abgelaufen")
    ALREADY_IN_CAMPAIGN = "already_in_campaign", _("bereits in dieser Kampagne")


# The reviewed letter templates (letters.layered.TEMPLATES); the admin offers a choice, never free HTML.
TEMPLATE_CHOICES = [("standard", _("PIN-Brief (Standard)"))]
MAX_LINES = 1_000_000
MAX_CSV_BYTES = 32 * 1024 * 1024
# Errors listed in full; beyond that the message counts the rest.
MAX_ERRORS_SHOWN = 20
# The role (group) that runs campaigns; administrators get its permissions, too.
CAMPAIGN_ROLE = "campaigns"
CAMPAIGN_PERMISSIONS = [
    "campaigns.view_campaign",
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.run_campaign",
    "campaigns.view_campaignrecipient",
]
