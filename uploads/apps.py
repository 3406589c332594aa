"""App configuration for uploads."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = _("Anträge und Übermittlungen")

    def ready(self) -> None:
        # Registers the tasks with Celery in every process, so that services can send them by name.
        from . import tasks  # noqa: F401
