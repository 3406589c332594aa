"""Letter requests with their status history, and the print batches in which the print shop collects them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import EncryptedFile

from .constants import BatchChannel, LetterStatus


def _by_staff(verbose_name: str) -> models.ForeignKey:
    """Who did it (asked for, collected, changed a letter): a staff user, kept; null when the system did it."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )


class PrintBatch(models.Model):
    """One collection by the print shop: who took which letters when, in the order of the merged PDF."""

    # Null while a batch prepared ahead (a campaign's) waits for the print shop.
    collected_at = models.DateTimeField(_("abgeholt am"), default=timezone.now, null=True, blank=True)
    prepared_at = models.DateTimeField(_("zusammengestellt am"), null=True, blank=True)
    # What the batch is for, shown to the print shop (a campaign's name); empty for the ad-hoc queue.
    label = models.CharField(_("Bezeichnung"), max_length=200, blank=True)
    # Null when the automated folder drop collected the batch.
    collected_by = _by_staff(_("abgeholt von"))
    channel = models.CharField(_("Weg"), max_length=16, choices=BatchChannel.choices, default=BatchChannel.DOWNLOAD)
    letter_count = models.PositiveIntegerField(_("Briefe"), default=0)
    page_count = models.PositiveIntegerField(_("Seiten"), default=0)
    # The manifest rows as handed out (letter id, reference, pages, sha256), in page order.
    manifest = models.JSONField(_("Manifest"), default=list, blank=True)

    class Meta:
        verbose_name = _("Druckauftrag")
        verbose_name_plural = _("Druckaufträge")
        ordering = ["-collected_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reference} ({self.letter_count})"

    @property
    def reference(self) -> str:
        return f"D-{self.pk:06d}"


class LetterLayer(EncryptedFile):
    """What a campaign's letters share, stored once (letters.composition): the static page, the fonts of the
    variable fields, the PDF/A declaration. Named by its plaintext's SHA-256, so every worker process that lays
    out the same static layer finds and uses the same stored file. Deleted once no letter's PDF needs it."""

    AAD_PREFIX = "letterlayer"
    AAD_FIELD = "digest"

    digest = models.CharField(_("SHA-256"), max_length=64, unique=True)
    size = models.PositiveIntegerField(_("Größe"), default=0)
    created_at = models.DateTimeField(_("angelegt am"), default=timezone.now)

    class Meta:
        verbose_name = _("gemeinsame Briefebene")
        verbose_name_plural = _("gemeinsame Briefebenen")

    def __str__(self) -> str:
        return self.digest[:12]

    @property
    def storage_name(self) -> str:
        return f"letters/layers/{self.digest}.pdf.enc"


class LetterRequest(EncryptedFile):
    """A PIN letter for a member: requested, rendered by the worker, collected by the print shop.

    The PIN is created by the worker together with the PDF; its plaintext is only ever inside the encrypted PDF
    (one encrypted file, storage_name; `pdf_name` is set while it exists). The row and its history stay when the
    PDF is deleted after collection. A campaign letter's file is its variable page; its `layer` completes it.
    """

    # Binds the encrypted PDF to this row: a file moved to another letter does not decrypt.
    AAD_PREFIX = "letter"
    AAD_FIELD = "pk"

    member = models.ForeignKey(
        "members.Member", verbose_name=_("Mitglied"), on_delete=models.PROTECT, related_name="letter_requests"
    )
    purpose = models.CharField(_("Anlass"), max_length=200)
    # The member-facing title of the case, printed in the letter and shown on the dashboard (campaigns); the
    # internal purpose above never reaches paper.
    case_title = models.CharField(_("Anliegen (für Mitglieder)"), max_length=200, blank=True)
    # Null when the system asked for the letter (an import, the demo data).
    requested_by = _by_staff(_("angefordert von"))
    status = models.CharField(_("Status"), max_length=16, choices=LetterStatus.choices, default=LetterStatus.REQUESTED)
    pin = models.ForeignKey(
        "pins.LetterPin",
        verbose_name=_("PIN"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="letters",
    )
    pdf_name = models.CharField(_("PDF-Datei"), max_length=255, blank=True)
    pdf_sha256 = models.CharField(_("SHA-256 des PDF"), max_length=64, blank=True)
    # A campaign letter stores only its variable page; this layer (stored once) completes it.
    layer = models.ForeignKey(
        LetterLayer,
        verbose_name=_("gemeinsame Ebene"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters",
    )
    pages = models.PositiveSmallIntegerField(_("Seiten"), null=True, blank=True)
    created_at = models.DateTimeField(_("angefordert am"), default=timezone.now)
    enqueued_at = models.DateTimeField(_("zuletzt an den Worker gegeben"), null=True, blank=True)
    rendered_at = models.DateTimeField(_("erstellt am"), null=True, blank=True)
    collected_at = models.DateTimeField(_("abgeholt am"), null=True, blank=True)
    collected_by = _by_staff(_("abgeholt von"))
    batch = models.ForeignKey(
        PrintBatch,
        verbose_name=_("Druckauftrag"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="letters",
    )
    pdf_deleted_at = models.DateTimeField(_("PDF gelöscht am"), null=True, blank=True)
    failure_reason = models.CharField(_("Fehlergrund"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("Versuche"), default=0)

    class Meta:
        verbose_name = _("PIN-Brief")
        verbose_name_plural = _("PIN-Briefe")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("collect_letters", "Darf Briefe für den Druck abholen"),
            ("release_letters", "Darf einen abgeholten Brief erneut freigeben"),
            ("cancel_letterrequest", "Darf einen Brief stornieren"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["pin"], condition=Q(pin__isnull=False), name="letters_one_letter_per_pin")
        ]
        indexes = [
            models.Index(fields=["status", "rendered_at"], name="letters_status_rendered"),
            models.Index(fields=["status", "enqueued_at"], name="letters_status_enqueued"),
            models.Index(fields=["status", "collected_at"], name="letters_status_collected"),
            models.Index(fields=["member", "-created_at"], name="letters_member_created"),
            # The letters waiting for a print batch, only they: a campaign's worker asks after every group of
            # letters whether a batch's worth waits, at a cost that grows with the batch, not with the campaign.
            models.Index(
                fields=["id"],
                condition=Q(status=LetterStatus.RENDERED, batch__isnull=True),
                name="letters_rendered_unbatched",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_status_display()})"

    @property
    def reference(self) -> str:
        """The letter's reference, printed in the letter and in the print manifest."""
        return f"B-{self.pk:08d}"

    @property
    def storage_name(self) -> str:
        """Deterministic, so a retried render overwrites instead of leaving a second PDF."""
        return f"letters/{self.pk}.pdf.enc"

    @property
    def has_stored_file(self) -> bool:
        """Whether the PDF is stored now (core.rotation skips letters whose PDF was deleted after collection)."""
        return bool(self.pdf_name)


class LetterStatusChange(models.Model):
    """One step in a letter's life, kept after its PDF is deleted so a member's call can be answered."""

    letter = models.ForeignKey(LetterRequest, on_delete=models.CASCADE, related_name="history")
    status = models.CharField(_("Status"), max_length=16, choices=LetterStatus.choices)
    at = models.DateTimeField(_("Zeitpunkt"), default=timezone.now)
    by = _by_staff(_("durch"))
    note = models.CharField(_("Vermerk"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Statusänderung")
        verbose_name_plural = _("Statusänderungen")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_status_display()}"
