"""Staff login locks: failed admin logins counted per user name and per address, visible and liftable in admin."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LockScope(models.TextChoices):
    USERNAME = "username", _("Benutzername")
    ADDRESS = "address", _("Adresse")


class StaffLoginLock(models.Model):
    """Failed staff logins of one user name or one address; past the limit, logins from it wait until `locked_until`.

    Written only by staff.services (staff_login_failure_record, staff_login_lock_lift); the count starts again
    after STAFF_LOGIN_WINDOW_SECONDS without a failure, and a user name's count after a successful login.
    """

    scope = models.CharField(_("Art"), max_length=16, choices=LockScope.choices)
    subject = models.CharField(_("Benutzername oder Adresse"), max_length=150)
    failures = models.PositiveIntegerField(_("Fehlversuche"), default=0)
    last_failure_at = models.DateTimeField(_("letzter Fehlversuch"), null=True, blank=True)
    locked_until = models.DateTimeField(_("gesperrt bis"), null=True, blank=True)

    class Meta:
        verbose_name = _("Anmeldesperre für Mitarbeiter")
        verbose_name_plural = _("Anmeldesperren für Mitarbeiter")
        constraints = [models.UniqueConstraint(fields=["scope", "subject"], name="staff_login_lock_unique")]
        ordering = ["-last_failure_at"]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.subject}"
