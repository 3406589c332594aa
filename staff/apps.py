"""App configuration for staff, and the admin app configuration that makes the two-factor site the default."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class StaffConfig(AppConfig):
    name = "staff"
    default = True

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import signals

        post_migrate.connect(signals.sync_roles_after_migrate, dispatch_uid="staff_sync_roles")


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the two-factor staff site as `admin.site`."""

    default = False
    default_site = "staff.admin_site.StaffAdminSite"
