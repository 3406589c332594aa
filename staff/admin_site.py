"""The admin site every staff member works in: django-otp's two-factor site with a TOTP-only login form."""

from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from .forms import StaffLoginForm


class StaffAdminSite(OTPAdminSite):
    """Password plus TOTP code; a session that is not OTP-verified by a staff device sees nothing."""

    login_form = StaffLoginForm
    site_header = _("Einmal-PIN-Portal · Mitarbeiter")
    site_title = _("Einmal-PIN-Portal")
    index_title = _("Übersicht")
    index_template = "staff/admin_index.html"

    def __init__(self, name: str = "admin"):
        super().__init__(name)
