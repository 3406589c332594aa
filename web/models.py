"""What the web app stores itself: feedback on the portal's accessibility, which staff read in admin."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccessibilityFeedback(models.Model):
    """A barrier someone reported through the accessibility statement's form (BITV 2.0 § 7: it must reach a person)."""

    message = models.TextField(_("Nachricht"), max_length=5000)
    contact = models.CharField(_("Kontakt für die Antwort"), max_length=200, blank=True)
    page = models.CharField(_("Betroffene Seite"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("eingegangen"), auto_now_add=True)
    handled = models.BooleanField(_("erledigt"), default=False)

    class Meta:
        verbose_name = _("Rückmeldung zur Barrierefreiheit")
        verbose_name_plural = _("Rückmeldungen zur Barrierefreiheit")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%d.%m.%Y %H:%M} {self.message[:40]}"
