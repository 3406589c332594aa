"""A campaign (PIN letters for many members at once), its recipients and its print batches."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .constants import TEMPLATE_CHOICES, CampaignStatus


class Campaign(models.Model):
    """One case opened for many members: each recipient gets exactly one letter with a PIN."""

    name = models.CharField(_("Name (intern)"), max_length=120)
    case_title = models.CharField(
        _("Anliegen"),
        max_length=120,
        help_text=_("Steht im Brief und auf der Übersicht des Mitglieds, z. B. „Familienversicherung 2027“."),
    )
    template = models.CharField(_("Briefvorlage"), max_length=32, choices=TEMPLATE_CHOICES, default="standard")
    # A campaign can only shorten a PIN's validity (letters moves the last day earlier), never lengthen it.
    validity_days = models.PositiveSmallIntegerField(
        _("PIN gültig (Tage)"),
        default=settings.PIN_VALIDITY_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(settings.PIN_VALIDITY_DAYS)],
    )
    status = models.CharField(_("Status"), max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    # Why members on the list got no recipient row: reason -> count, and the lines of duplicates.
    skipped = models.JSONField(_("übersprungen"), default=dict, blank=True)
    recipient_count = models.PositiveIntegerField(_("Empfänger"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("angelegt von"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("angelegt am"), default=timezone.now)
    started_at = models.DateTimeField(_("gestartet am"), null=True, blank=True)
    finished_at = models.DateTimeField(_("beendet am"), null=True, blank=True)

    class Meta:
        verbose_name = _("Kampagne")
        verbose_name_plural = _("Kampagnen")
        ordering = ["-created_at", "-id"]
        permissions = [("run_campaign", "Darf Kampagnen starten, anhalten, fortsetzen und abbrechen")]

    def __str__(self) -> str:
        return f"{self.reference} {self.name}"

    @property
    def reference(self) -> str:
        return f"K-{self.pk:06d}" if self.pk else "K-neu"


class CampaignRecipient(models.Model):
    """A member on a campaign's list; `letter` is set in the transaction that creates the member's one letter."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    member = models.ForeignKey("members.Member", verbose_name=_("Mitglied"), on_delete=models.PROTECT, related_name="+")
    letter = models.OneToOneField(
        "letters.LetterRequest",
        verbose_name=_("Brief"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaign_recipient",
    )
    failure_reason = models.CharField(_("Fehlergrund"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Empfänger")
        verbose_name_plural = _("Empfänger")
        constraints = [
            # One letter per member per campaign, whatever runs twice.
            models.UniqueConstraint(fields=["campaign", "member"], name="campaigns_one_recipient_per_member"),
        ]
        indexes = [models.Index(fields=["campaign", "letter"], name="campaigns_recipient_letter")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.member_id}"


class CampaignBatch(models.Model):
    """A print batch made for the campaign as its letters render."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="batches")
    batch = models.OneToOneField("letters.PrintBatch", on_delete=models.PROTECT, related_name="campaign_batch")

    class Meta:
        verbose_name = _("Druckauftrag der Kampagne")
        verbose_name_plural = _("Druckaufträge der Kampagne")

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.batch_id}"
