"""App configuration for campaigns."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Kampagnen")

    def ready(self) -> None:
        # Registers the tasks with Celery in every process, so that services can send them by name.
        from . import tasks  # noqa: F401
