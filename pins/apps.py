"""App configuration for pins."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PinsConfig(AppConfig):
    name = "pins"
    verbose_name = _("PINs der Mitglieder")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        # A member's login is recorded on its PIN (last_login_at) and in the audit log, in the attempt's own
        # transaction; Django's extra UPDATE of the user's last_login (a statement and a commit per login) is
        # kept for staff only.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(_update_last_login_of_staff, dispatch_uid="update_last_login")


def _update_last_login_of_staff(sender, user, **kwargs) -> None:
    from django.contrib.auth.models import update_last_login

    if user.is_staff:
        update_last_login(sender, user, **kwargs)
