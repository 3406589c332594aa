"""App configuration for staff, and the admin app configuration that makes the two-factor site the default."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = _("Mitarbeiter")
    default = True

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals

        post_migrate.connect(signals.sync_roles_after_migrate, dispatch_uid="staff_sync_roles")
        _name_the_staff_second_factor()


def _name_the_staff_second_factor() -> None:
    """django-otp calls the staff's authenticator "TOTP device"; nobody may confuse it with a member's letter PIN.

    Display names only (not the model's options), so no migration of django-otp's app is needed."""
    from django.apps import apps

    if not apps.is_installed("django_otp.plugins.otp_totp"):
        return
    from django_otp.plugins.otp_totp.models import TOTPDevice

    apps.get_app_config("otp_totp").verbose_name = _("Zweiter Faktor der Mitarbeiter")
    TOTPDevice._meta.verbose_name = _("Authenticator-App eines Mitarbeiters")
    TOTPDevice._meta.verbose_name_plural = _("Authenticator-Apps der Mitarbeiter")


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the two-factor staff site as `admin.site`."""

    default = False
    default_site = "staff.admin_site.StaffAdminSite"
