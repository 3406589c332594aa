"""The member's draft, its uploads, and the immutable submission with its documents."""

import datetime
import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.models import EncryptedFile

from .constants import (
    SCAN_REFUSED,
    SCAN_WAITING,
    SCREEN_DOCUMENT_TASK,
    SCREEN_UPLOAD_TASK,
    ScanStatus,
    SubmissionStatus,
    UploadStatus,
)


class ScanState(models.Model):
    """The worker's scan and disarm of a stored file: what the member sent, where it stands, why.

    What the check (uploads.screening) needs of a concrete model is stated on it: SCAN_KEY names the row in audit
    data ({SCAN_KEY: public_id}), log lines and the enqueue's message; SCAN_TASK is the name of the task that
    checks one row by id; MEMBER_PATH is the select_related path to its member; `member` is that member;
    `scan_waiting()` and `scan_overdue()` are the rows whose file waits for the check.
    """

    SCAN_KEY: ClassVar[str]
    SCAN_TASK: ClassVar[str]
    MEMBER_PATH: ClassVar[str]

    # SHA-256 of the bytes the member sent; `sha256` is that of the disarmed copy the insurer keeps.
    sent_sha256 = models.CharField(_("SHA-256 wie gesendet"), max_length=64, blank=True)
    scan_status = models.CharField(
        _("Prüfung"), max_length=16, choices=ScanStatus.choices, default=ScanStatus.PENDING, db_index=True
    )
    # Why a file is held or refused (unreachable, timeout, too_large, image_too_large, unreadable): for staff.
    scan_note = models.CharField(_("Prüfhinweis"), max_length=100, blank=True)
    scanned_at = models.DateTimeField(_("geprüft am"), null=True, blank=True)

    class Meta:
        abstract = True

    @classmethod
    def scan_waiting(cls) -> models.QuerySet:
        """The rows whose stored file waits for the check (pending, or held while the scanner was away)."""
        return cls._default_manager.filter(scan_status__in=SCAN_WAITING).exclude(storage_name="")

    @classmethod
    def scan_overdue(cls, *, before: datetime.datetime) -> models.QuerySet:
        """The waiting rows beat hands to the worker again (those enqueued before `before` at the latest)."""
        return cls.scan_waiting()

    @property
    def is_checking(self) -> bool:
        return self.scan_status in SCAN_WAITING

    @property
    def is_refused(self) -> bool:
        """Malware found or unreadable: the file is gone from the draft's storage (quarantined or deleted)."""
        return self.scan_status in SCAN_REFUSED

    @property
    def is_deliverable(self) -> bool:
        """Scanned clean and disarmed, or disarmed where no scanner is required: staff may open it."""
        if self.scan_status == ScanStatus.CLEAN:
            return True
        return self.scan_status == ScanStatus.UNSCANNED and not settings.CLAMD_REQUIRED


class MemberFile(EncryptedFile):
    """A file a member sent, kept encrypted: the upload, the document it becomes at transmission (same uuid, same
    stored file), or the copy quarantined when clamd found malware in it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("Dateiname"), max_length=255)
    # Empty (and size null) until the upload is complete.
    mime_type = models.CharField(_("Dateityp"), max_length=100, blank=True)
    size = models.BigIntegerField(_("Größe"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    # "documents/<uuid>/": the file is its ordered encrypted segments listed in `segments` ([{"key", "size"}],
    # each stored as storage_name + key). A disarmed copy is one encrypted file, storage_name, with no segments.
    # Empty once the file is gone (refused, or moved to the quarantine).
    storage_name = models.CharField(max_length=255, blank=True)
    segments = models.JSONField(default=list, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    def shared_with(self, model: type["MemberFile"]) -> dict:
        """The values of the fields this file has in common with `model` through their abstract bases (the stored
        file's, and the scan's where both have one): what a document takes over from its upload."""
        bases = [base for base in (MemberFile, ScanState) if isinstance(self, base) and issubclass(model, base)]
        return {field.name: getattr(self, field.name) for base in bases for field in base._meta.local_fields}


class SubmissionReason(models.Model):
    """Why a member sends something (certificate, form, ...); operators extend the list in the admin."""

    code = models.SlugField(_("Kürzel"), max_length=40, unique=True)
    label_de = models.CharField(_("Bezeichnung (deutsch)"), max_length=100)
    label_en = models.CharField(_("Bezeichnung (englisch)"), max_length=100)
    active = models.BooleanField(_("aktiv"), default=True)
    order = models.PositiveSmallIntegerField(_("Reihenfolge"), default=0)

    class Meta:
        verbose_name = _("Anlass")
        verbose_name_plural = _("Anlässe")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The label in the active language (German unless English is chosen)."""
        language = (get_language() or "de").split("-")[0]
        return self.label_en if language == "en" and self.label_en else self.label_de


class Draft(models.Model):
    """What the member is preparing: one open draft per member, saved on every change, versioned."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    member = models.ForeignKey("members.Member", on_delete=models.CASCADE, related_name="drafts")
    reason = models.ForeignKey(
        SubmissionReason, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("Anlass")
    )
    message = models.TextField(_("Nachricht"), max_length=5000, blank=True)
    phone = models.CharField(_("Neue Telefonnummer"), max_length=40, blank=True)
    email = models.EmailField(_("Neue E-Mail-Adresse"), blank=True)
    address_line = models.CharField(_("Adresszusatz"), max_length=100, blank=True)
    street = models.CharField(_("Straße und Hausnummer"), max_length=100, blank=True)
    postcode = models.CharField(_("Postleitzahl"), max_length=5, blank=True)
    town = models.CharField(_("Ort"), max_length=100, blank=True)
    # Last write wins, but only for a writer that saw the latest version: a stale tab gets a conflict.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Entwurf")
        verbose_name_plural = _("Entwürfe")
        constraints = [models.UniqueConstraint(fields=["member"], name="uploads_one_draft_per_member")]

    def __str__(self) -> str:
        return f"Entwurf {self.public_id}"

    @property
    def contact_changes(self) -> dict[str, str]:
        """The contact data the member wants changed (only fields they filled in)."""
        fields = ("phone", "email", "address_line", "street", "postcode", "town")
        return {field: getattr(self, field) for field in fields if getattr(self, field)}


class Rotation(models.IntegerChoices):
    """How far the member turned a photographed page, clockwise, before it is assembled upright."""

    NONE = 0, "0°"
    RIGHT = 90, "90°"
    HALF = 180, "180°"
    LEFT = 270, "270°"


class PhotoDocument(models.Model):
    """Photos of one paper document in the draft (uploads.services.photo_documents): its pages are uploads in
    the member's order and turn, assembled into one PDF after transmission. The key is the page script's."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="photo_documents")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("Bezeichnung"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Dokument aus Fotos")
        verbose_name_plural = _("Dokumente aus Fotos")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class Upload(MemberFile, ScanState):
    """A file of a draft: its encrypted segments, one per request, stored as they arrive; complete when all are in."""

    SCAN_KEY = "upload"
    SCAN_TASK = SCREEN_UPLOAD_TASK
    MEMBER_PATH = "draft__member"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="uploads")
    # The client's fingerprint of the local file (name, size, date), so a reload can find the upload again.
    fingerprint = models.CharField(max_length=200, blank=True)
    length = models.BigIntegerField(_("angekündigte Größe"))
    offset = models.BigIntegerField(default=0)
    status = models.CharField(
        _("Status"), max_length=16, choices=UploadStatus.choices, default=UploadStatus.IN_PROGRESS
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(_("verfällt"))
    # A page of a document made of photos: its place (1, 2, ...) and the member's turn; a plain file without.
    photo_document = models.ForeignKey(
        PhotoDocument, on_delete=models.SET_NULL, null=True, blank=True, related_name="pages"
    )
    page_number = models.PositiveSmallIntegerField(_("Seite"), default=0)
    rotation = models.PositiveSmallIntegerField(_("Drehung"), choices=Rotation.choices, default=Rotation.NONE)

    class Meta:
        verbose_name = _("Upload")
        verbose_name_plural = _("Uploads")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="uploads_status_expires")]

    @property
    def is_complete(self) -> bool:
        return self.status == UploadStatus.COMPLETE

    @property
    def member(self):
        return self.draft.member

    @classmethod
    def scan_waiting(cls) -> models.QuerySet:
        """Only once all its bytes are in: while an upload arrives its segments are stored under storage_name too,
        and must not be touched."""
        return super().scan_waiting().filter(status=UploadStatus.COMPLETE)

    @classmethod
    def scan_overdue(cls, *, before: datetime.datetime) -> models.QuerySet:
        """Completed before `before`: a fresh one is still on its way to the worker."""
        return cls.scan_waiting().filter(updated_at__lt=before)


class SubmissionQuerySet(models.QuerySet):
    def delete(self):
        raise models.ProtectedError("submissions are kept", set(self))


class Submission(models.Model):
    """A transmitted draft. Immutable: only the case workers' status and note change afterwards."""

    MUTABLE_FIELDS = frozenset({"status", "status_note", "status_changed_at"})

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="submissions")
    reference = models.CharField(_("Vorgangsnummer"), max_length=20, unique=True)
    # The draft this came from: unique, so a double submit can never create a second submission.
    draft_public_id = models.UUIDField(unique=True, editable=False)
    reason = models.ForeignKey(SubmissionReason, on_delete=models.PROTECT, verbose_name=_("Anlass"))
    message = models.TextField(_("Nachricht"), blank=True)
    contact_changes = models.JSONField(_("Änderung der Kontaktdaten"), default=dict, blank=True)
    transmitted_at = models.DateTimeField(_("übermittelt am"), db_index=True)
    status = models.CharField(
        _("Bearbeitungsstand"), max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.RECEIVED
    )
    status_note = models.TextField(_("Notiz zum Bearbeitungsstand"), blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    receipt_available_until = models.DateTimeField(_("Quittung abrufbar bis"))
    # The first time the insurer had it (exported, or marked done): the documents are deleted
    # SUBMISSION_RETENTION_DAYS_AFTER_DONE later, and SUBMISSION_RETENTION_DAYS_MAX after transmission regardless.
    closed_at = models.DateTimeField(_("exportiert oder erledigt am"), null=True, blank=True, db_index=True)
    # Set when the documents, the message and the contact changes were deleted; the receipt data stays.
    documents_deleted_at = models.DateTimeField(_("Dokumente gelöscht am"), null=True, blank=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("Übermittlung")
        verbose_name_plural = _("Übermittlungen")
        ordering = ["-transmitted_at", "-id"]
        indexes = [models.Index(fields=["status", "-transmitted_at"], name="uploads_sub_status_at")]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if not self._state.adding and (update_fields is None or not self.MUTABLE_FIELDS.issuperset(update_fields)):
            raise ValueError("a submission is immutable; only its status and note may change")
        super().save(*args, **kwargs)

    @property
    def documents_delete_after(self) -> datetime.datetime | None:
        """When the documents are due for deletion (None once they are deleted): the upper limit after
        transmission, or sooner the days after the first export or marking done."""
        if self.documents_deleted_at is not None:
            return None
        due = self.transmitted_at + datetime.timedelta(days=settings.SUBMISSION_RETENTION_DAYS_MAX)
        if self.closed_at is not None:
            due = min(due, self.closed_at + datetime.timedelta(days=settings.SUBMISSION_RETENTION_DAYS_AFTER_DONE))
        return due


class SubmissionDocument(MemberFile, ScanState):
    """A transmitted file: metadata and the name of its encrypted content in the private storage."""

    SCAN_KEY = "document"
    SCAN_TASK = SCREEN_DOCUMENT_TASK
    MEMBER_PATH = "submission__member"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="documents")

    class Meta:
        verbose_name = _("Dokument")
        verbose_name_plural = _("Dokumente")
        ordering = ["submission", "id"]
        permissions = [("download_submissiondocument", _("darf Dokumente von Mitgliedern herunterladen"))]

    @property
    def member(self):
        return self.submission.member

    @property
    def refusal_message(self) -> str:
        """Why a refused document was refused, in words; for a document made of photos it names the page
        (scan_note "page 3: image_too_large")."""
        page, _sep, reason = self.scan_note.rpartition(": ")
        reasons = {
            "image_too_large": _("zu groß zum Verarbeiten"),
            "too_complex": _("zu komplex, um sie sicher zu prüfen"),
            "active_content": _("zu komplex, um sie sicher zu prüfen"),
        }
        why = reasons.get(reason, _("nicht lesbar"))
        if reason == "malware":  # a finding, not a state of the page: a sentence of its own
            if page.startswith("page "):
                return _("Auf Seite %(page)s wurde Schadsoftware gefunden; das Dokument wurde nicht übernommen.") % {
                    "page": page.removeprefix("page ")
                }
            return _("In der Datei wurde Schadsoftware gefunden; sie wurde nicht übernommen.")
        if page.startswith("page "):
            return _("Seite %(page)s ist %(why)s; das Dokument wurde nicht übernommen.") % {
                "page": page.removeprefix("page "),
                "why": why,
            }
        return _("Die Datei ist %(why)s; sie wurde nicht übernommen.") % {"why": why}

    @classmethod
    def scan_waiting(cls) -> models.QuerySet:
        """Also a document made of photos whose PDF is not assembled yet (no stored file, its pages listed)."""
        assembling = models.Exists(DocumentPage.objects.filter(document=models.OuterRef("pk")))
        return cls._default_manager.filter(scan_status__in=SCAN_WAITING).filter(~models.Q(storage_name="") | assembling)


class DocumentPage(MemberFile):
    """A photographed page of a transmitted document: the member's upload as it was checked (same uuid), its
    place and turn. Its stored copy is deleted once the document's PDF is assembled; the checksums stay for the
    receipt."""

    document = models.ForeignKey(SubmissionDocument, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveSmallIntegerField(_("Seite"))
    rotation = models.PositiveSmallIntegerField(_("Drehung"), choices=Rotation.choices, default=Rotation.NONE)
    sent_sha256 = models.CharField(_("SHA-256 wie gesendet"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("Seite")
        verbose_name_plural = _("Seiten")
        ordering = ["document", "number"]
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="uploads_page_number_once")]


class QuarantinedFile(MemberFile):
    """A file in which clamd found malware: kept encrypted for QUARANTINE_RETENTION_DAYS, for administrators only."""

    member = models.ForeignKey("members.Member", on_delete=models.SET_NULL, null=True, related_name="+")
    signature = models.CharField(_("Befund"), max_length=200)
    found_at = models.DateTimeField(_("gefunden am"), auto_now_add=True)
    delete_after = models.DateTimeField(_("löschen nach"))

    class Meta:
        verbose_name = _("Datei in Quarantäne")
        verbose_name_plural = _("Dateien in Quarantäne")
        ordering = ["-found_at"]


class DocumentRender(models.Model):
    """The case worker's view of a deliverable document, rendered once by the worker (uploads.rendering): its
    pages as images with their text (RenderedPage), or why it is not shown in the browser (too many pages, a page
    too large, too complex, unreadable). No row yet: not rendered (the viewer asks the worker for it)."""

    document = models.OneToOneField(SubmissionDocument, on_delete=models.CASCADE, related_name="render")
    refused = models.CharField(_("nicht darstellbar, weil"), max_length=32, blank=True)
    page_count = models.PositiveIntegerField(_("Seiten"), default=0)
    rendered_at = models.DateTimeField(_("dargestellt am"), auto_now_add=True)

    class Meta:
        verbose_name = _("Ansicht eines Dokuments")
        verbose_name_plural = _("Ansichten von Dokumenten")

    def __str__(self) -> str:
        return f"{self.document_id}: {self.refused or self.page_count}"


class RenderedPage(EncryptedFile):
    """One stored file of a document's view: a page's image, its text, or the thumbnail of its first page; kept
    encrypted beside the document (renders/<document uuid>/...) and deleted with its documents (retention)."""

    AAD_PREFIX = "page"

    class Kind(models.TextChoices):
        IMAGE = "image", _("Seite")
        TEXT = "text", _("Text der Seite")
        THUMBNAIL = "thumbnail", _("Vorschau")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    render = models.ForeignKey(DocumentRender, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    number = models.PositiveIntegerField(default=1)
    mime_type = models.CharField(max_length=100)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    storage_name = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("Seite eines Dokuments")
        verbose_name_plural = _("Seiten von Dokumenten")
        ordering = ["render", "kind", "number"]
        constraints = [models.UniqueConstraint(fields=["render", "kind", "number"], name="uploads_document_page_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"
