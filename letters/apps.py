"""App configuration for letters."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "letters"
    verbose_name = _("PIN-Briefe")

    def ready(self) -> None:
        # Registers the tasks with Celery in every process, so that services can send them by name.
        from . import tasks  # noqa: F401
