"""The admin site every staff member works in: django-otp's two-factor site with a TOTP-only login form."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from core.admin_mixins import PostedSearchMixin, SecretLookupGuardMixin
from ops.checks import degraded, reported_status
from scanning.clamd import scanner_configured
from web.attack import attack_level

from .forms import StaffLoginForm

# What staff should know when a dependency that does not take the portal offline is down (ops/checks.py).
DEGRADED_MESSAGES = {
    "storage": _(
        "Die Dateiablage antwortet gerade nicht: Dateien können nicht hochgeladen oder heruntergeladen werden, "
        "bis sie wieder erreichbar ist. Anmelden und Eingaben speichern funktioniert weiter."
    ),
    "clamd": _(
        "Der Virenscanner antwortet gerade nicht: Hochgeladene Dateien werden geprüft, sobald er wieder "
        "erreichbar ist. Anmelden und Eingaben speichern funktioniert weiter."
    ),
}


class StaffAdminSite(OTPAdminSite):
    """Password plus TOTP code; a session that is not OTP-verified by a staff device sees nothing."""

    login_form = StaffLoginForm
    login_template = "staff/login.html"
    site_header = _("Einmal-PIN-Portal · Mitarbeiter")
    site_title = _("Einmal-PIN-Portal")
    index_title = _("Übersicht")
    index_template = "staff/admin_index.html"

    def __init__(self, name: str = "admin"):
        super().__init__(name)

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin, ours and those of django.contrib.auth and django-otp, refuses lookups on secrets
        and keeps search terms out of URLs."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SecretLookupGuardMixin):
            admin_class = type(admin_class.__name__, (SecretLookupGuardMixin, PostedSearchMixin, admin_class), {})
        super().register(model_or_iterable, admin_class, **options)

    def login(self, request, extra_context=None):
        """The login page; under attack (web/attack.py) its script solves a proof of work on "Anmelden"."""
        return super().login(request, {"challenge_required": attack_level() > 0, **(extra_context or {})})

    def index(self, request, extra_context=None):
        """The admin index, with links to the staff pages that are not model admins (inbox, print queue)."""
        user = request.user
        links = []
        if user.has_perm("uploads.view_submission"):
            links.append({"url": reverse("staff:inbox"), "title": _("Posteingang (Übermittlungen)")})
        if user.has_perm("letters.collect_letters"):
            links.append({"url": reverse("letters:queue"), "title": _("Druckwarteschlange")})
        if not scanner_configured():
            # The banner of the embedded default: nobody should mistake "disarmed" for "scanned".
            messages.warning(
                request,
                _(
                    "Kein Virenscanner eingerichtet: Hochgeladene Dateien werden entschärft, aber nicht auf "
                    "Schadsoftware geprüft (CLAMD_TCP oder CLAMD_SOCKET setzen)."
                ),
            )
        for name in degraded(reported_status()):
            messages.warning(request, DEGRADED_MESSAGES[name])
        return super().index(request, {"staff_links": links, **(extra_context or {})})
