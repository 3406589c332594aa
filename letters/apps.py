"""App configuration for letters."""

from django.apps import AppConfig


class LettersConfig(AppConfig):
    name = "letters"

    def ready(self) -> None:
        # Registers the tasks with Celery in every process, so that services can send them by name.
        from . import tasks  # noqa: F401
