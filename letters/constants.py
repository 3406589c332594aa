"""Letter statuses and the channels through which the print shop collects batches."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class LetterStatus(models.TextChoices):
    REQUESTED = "requested", _("angefordert")
    RENDERED = "rendered", _("druckbereit")
    COLLECTED = "collected", _("von der Druckerei abgeholt")
    FAILED = "failed", _("fehlgeschlagen")
    CANCELLED = "cancelled", _("storniert")


class BatchChannel(models.TextChoices):
    DOWNLOAD = "download", _("Download")
    FOLDER = "folder", _("Ablageordner")


# The most letters one print batch takes: the print shop's download, the folder drop (collect_letters --limit).
PRINT_BATCH_MAX = 500
