"""Receivers that write staff logins and failed logins to the audit log."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from .net import client_ip
from .services import staff_login_failed, staff_login_succeeded


@receiver(user_logged_in, dispatch_uid="staff_login_audit")
def _audit_staff_login(sender, request, user, **kwargs) -> None:
    # Members are logged in by pins.auth with their PIN device and are audited there.
    if user.is_staff:
        staff_login_succeeded(user=user, ip=client_ip(request))


@receiver(user_login_failed, dispatch_uid="staff_login_failed_audit")
def _audit_failed_login(sender, credentials, request=None, **kwargs) -> None:
    # Django has already replaced the password in `credentials`; only the username is kept.
    staff_login_failed(
        user=None, username=str(credentials.get("username", "")), reason="password", ip=client_ip(request)
    )
