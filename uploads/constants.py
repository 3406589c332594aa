"""Choices and fixed values of the uploads app: upload, scan and submission statuses, allowed file types."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# Upper-case letters and digits without look-alikes (no 0/O, no 1/I/L), so a reference can be read out on the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_PREFIX = "EP"

# The draft's fields a member fills in (the form shows them, autosave writes only these).
DRAFT_FIELDS = ("reason", "message", "phone", "email", "address_line", "street", "postcode", "town")

# Detected MIME type -> (extension of the stored file, extensions a member's file of this type may have).
ALLOWED_TYPES = {
    "application/pdf": ("pdf", {"pdf"}),
    "image/jpeg": ("jpg", {"jpg", "jpeg", "jpe", "jfif"}),
    "image/png": ("png", {"png"}),
    "image/heic": ("jpg", {"heic", "heif"}),
    "image/heif": ("jpg", {"heic", "heif"}),
}
KNOWN_EXTENSIONS = frozenset(ext for _stored, exts in ALLOWED_TYPES.values() for ext in exts)


class UploadStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("wird hochgeladen")
    COMPLETE = "complete", _("vollständig")


class ScanStatus(models.TextChoices):
    """Where a stored file stands in the worker's scan and disarm; only CLEAN (and UNSCANNED without a required
    scanner) ever reaches staff."""

    PENDING = "pending", _("wird geprüft")
    HELD = "held", _("zurückgehalten")
    CLEAN = "clean", _("geprüft und entschärft")
    UNSCANNED = "unscanned", _("entschärft, nicht auf Viren geprüft")
    INFECTED = "infected", _("Schadsoftware gefunden")
    REFUSED = "refused", _("abgelehnt")


# States in which the member still waits for a verdict, and in which a file is finished but not deliverable.
SCAN_WAITING = frozenset({ScanStatus.PENDING, ScanStatus.HELD})
SCAN_REFUSED = frozenset({ScanStatus.INFECTED, ScanStatus.REFUSED})
# The worker's check of one stored upload or transmitted document, enqueued by name with the row's id: the web
# process never imports uploads.tasks.
SCREEN_UPLOAD_TASK = "uploads.tasks.screen_upload"
SCREEN_DOCUMENT_TASK = "uploads.tasks.screen_document"
# The worker's rendering of one deliverable document's pages for the case worker's viewer, by name with its id.
RENDER_DOCUMENT_TASK = "uploads.tasks.render_document"


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", _("eingegangen")
    IN_PROGRESS = "in_progress", _("in Bearbeitung")
    DONE = "done", _("erledigt")
