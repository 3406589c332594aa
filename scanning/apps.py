"""App config of the scanning app: registers the deployment check for a configured virus scanner."""

from django.apps import AppConfig


class ScanningConfig(AppConfig):
    name = "scanning"
    verbose_name = "Virenprüfung und Entschärfung"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system check
