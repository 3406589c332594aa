"""Staff roles (each one a group of permissions) and the reasons a call-centre agent can give for a new PIN."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.constants import CAMPAIGN_ROLE


class Role(models.TextChoices):
    """The value is the name of the role's group, created by staff's data migration."""

    CALL_CENTRE = "call_centre", _("Callcenter")
    PRINT_SHOP = "print_shop", _("Druckerei")
    CASE_WORKER = "case_worker", _("Sachbearbeitung")
    CASE_READER = "case_reader", _("Sachbearbeitung (nur ansehen)")
    ADMINISTRATOR = "administrator", _("Administration")
    CAMPAIGNS = CAMPAIGN_ROLE, _("Kampagnen")


class ReissuePurpose(models.TextChoices):
    LOST = "lost", _("PIN verloren")
    NOT_RECEIVED = "not_received", _("Brief nicht angekommen")
    EXPIRED = "expired", _("PIN abgelaufen")
    LOCKED = "locked", _("PIN nach Fehleingaben gesperrt")
    NEW_CASE = "new_case", _("Neuer Vorgang")
