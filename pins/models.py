"""The letter PIN: an Argon2id hash, its validity and attempt counter; also the member's django-otp device."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from .constants import EndReason, PinStatus, pin_status_choices


class LetterPin(Device):
    """One PIN sent by letter. Being a django-otp Device, a login with it marks the session OTP-verified.

    The plaintext is never stored: only the Argon2id hash of the whole PIN and its first characters (the
    selector, not secret) which find the row among the member's PINs.
    """

    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="pins")
    selector = models.CharField(max_length=4)
    pin_hash = models.CharField(max_length=200)
    purpose = models.CharField(_("Anlass"), max_length=200)
    status = models.CharField(_("Status"), max_length=16, choices=pin_status_choices, default=PinStatus.ACTIVE)
    end_reason = models.CharField(_("Grund"), max_length=16, choices=EndReason.choices, blank=True)
    issued_at = models.DateTimeField(_("erstellt"))
    expires_at = models.DateTimeField(_("gültig bis"))
    ended_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(_("Fehleingaben"), default=0)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Brief-PIN")
        verbose_name_plural = _("Brief-PINs")
        ordering = ["-issued_at"]
        constraints = [models.UniqueConstraint(fields=["member", "selector"], name="pins_unique_member_selector")]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="pins_status_expires"),
            models.Index(fields=["status", "ended_at"], name="pins_status_ended"),
        ]

    def __str__(self) -> str:
        return f"PIN {self.selector}… ({self.get_status_display()})"

    def verify_token(self, token) -> bool:
        """Letter PINs are verified by pins.services.verification.pin_verify_entry, which owns the attempt counting."""
        return False
