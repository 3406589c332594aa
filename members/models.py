"""The member: an insured person with KVNR, postal address and health-card validity."""

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .validators import validate_kvnr, validate_postcode


class Member(models.Model):
    """An insured person. Linked one-to-one to a Django user with no usable password (django-otp needs a user)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member")
    kvnr = models.CharField(_("KVNR"), max_length=10, unique=True, validators=[validate_kvnr])
    first_name = models.CharField(_("Vorname"), max_length=100)
    last_name = models.CharField(_("Nachname"), max_length=100)
    address_line = models.CharField(_("Adresszusatz"), max_length=100, blank=True)
    street = models.CharField(_("Straße und Hausnummer"), max_length=100)
    postcode = models.CharField(_("Postleitzahl"), max_length=5, validators=[validate_postcode])
    town = models.CharField(_("Ort"), max_length=100)
    egk_valid_until = models.DateField(_("Gesundheitskarte (eGK) gültig bis"))
    language = models.CharField(_("Sprache"), max_length=8, choices=settings.LANGUAGES, default="de")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Mitglied")
        verbose_name_plural = _("Mitglieder")
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["last_name", "first_name"]), models.Index(fields=["postcode"])]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.kvnr})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def address_lines(self) -> list[str]:
        """The address as it stands in a letter window, name first."""
        lines = [self.full_name]
        if self.address_line:
            lines.append(self.address_line)
        lines += [self.street, f"{self.postcode} {self.town}"]
        return lines

    def card_is_valid(self, *, on: datetime.date | None = None) -> bool:
        """The eGK is valid through the last day printed on it."""
        today = on or timezone.localdate()
        return self.egk_valid_until >= today
