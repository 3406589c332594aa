"""Receivers: staff logins and failed logins go to the audit log; roles are kept in line after migrate."""

from django.apps import apps as global_apps
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.dispatch import receiver

from core.net import client_ip

from .middleware import staff_session_seen
from .roles import roles_sync
from .services import staff_login_failed, staff_login_succeeded


@receiver(user_logged_in, dispatch_uid="staff_login_audit")
def _audit_staff_login(sender, request, user, **kwargs) -> None:
    # Members are logged in by pins.session with their PIN device and are audited there.
    if user.is_staff:
        staff_login_succeeded(user=user, ip=client_ip(request))
        if request is not None and hasattr(request, "session"):
            staff_session_seen(request)


@receiver(user_login_failed, dispatch_uid="staff_login_failed_audit")
def _audit_failed_login(sender, credentials, request=None, **kwargs) -> None:
    # Django has already replaced the password in `credentials`; only the username is kept.
    staff_login_failed(
        user=None, username=str(credentials.get("username", "")), reason="password", ip=client_ip(request)
    )


def sync_roles_after_migrate(sender, app_config, using, apps=global_apps, **kwargs) -> None:
    """After the last app with models (its permissions now exist), once staff's role migration has been applied."""
    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if app_config is not with_models[-1]:
        return
    if not MigrationRecorder(connections[using]).migration_qs.filter(app="staff", name="0001_roles").exists():
        return
    roles_sync(
        group_model=apps.get_model("auth", "Group"), permission_model=apps.get_model("auth", "Permission"), using=using
    )
