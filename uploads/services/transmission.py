"""Transmission, the seed's rule: final, ends all of the member's PINs, gives a receipt; then the case status."""

import datetime
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from pins.constants import EndReason
from pins.services import pin_invalidate_all

from ..constants import REFERENCE_ALPHABET, REFERENCE_PREFIX, SCAN_REFUSED, ScanStatus, SubmissionStatus
from ..exceptions import TransmitError
from ..models import DocumentPage, Draft, Submission, SubmissionDocument, Upload
from . import receiving
from .photo_documents import photo_document_file_name
from .retention import submission_close
from .viewing import submission_renders_enqueue

# A reference has 40 random bits: a clash is rare, several in a row mean something else is wrong.
REFERENCE_ATTEMPTS = 5


def reference_generate() -> str:
    """A reference like EP-7K4M-Q2XH: 40 random bits from an alphabet without look-alikes."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}-{body[:4]}-{body[4:]}"


def _submission_create(**fields) -> Submission:
    for _attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                return Submission.objects.create(reference=reference_generate(), **fields)
        except IntegrityError:
            if Submission.objects.filter(draft_public_id=fields["draft_public_id"]).exists():
                raise
    raise RuntimeError("no free submission reference")


def _submission_audit(submission: Submission, *, action: str, actor: Actor, **data) -> None:
    audit_record(action=action, actor=actor, member=submission.member, data={"reference": submission.reference, **data})


def _transmit_check(draft: Draft, uploads: list[Upload]) -> None:
    """What must hold before a locked draft may go; raises TransmitError saying what the member should do.

    Transmission waits while a file is being checked and refuses refused files; a held file goes along held.
    """
    if draft.reason is None:
        raise TransmitError(_("Bitte wählen Sie einen Anlass."))
    if any(not upload.is_complete for upload in uploads):
        raise TransmitError(
            _(
                "Mindestens eine Datei ist noch nicht vollständig hochgeladen. Bitte setzen Sie den Upload fort oder löschen Sie die Datei."
            )
        )
    refused = [_file_label(upload) for upload in uploads if upload.scan_status in SCAN_REFUSED]
    if refused:
        raise TransmitError(
            _("Bitte entfernen Sie zuerst diese Dateien, die wir nicht annehmen konnten: %(names)s")
            % {"names": ", ".join(refused)}
        )
    # A page is assembled from its disarmed copy: it waits for the check, also while the scanner is away.
    waiting = [u for u in uploads if u.scan_status == ScanStatus.PENDING or (u.photo_document_id and u.is_checking)]
    if waiting:
        raise TransmitError(
            _("Ihre Dateien werden gerade noch geprüft. Bitte warten Sie einen Moment und senden Sie dann erneut.")
        )
    if not (uploads or draft.message.strip() or draft.contact_changes):
        raise TransmitError(
            _("Bitte hängen Sie ein Dokument an, schreiben Sie eine Nachricht oder ändern Sie Ihre Kontaktdaten.")
        )


def _file_label(upload: Upload) -> str:
    """How the member knows a file: its name, or for a page of a document made of photos its document and page."""
    if upload.photo_document_id is None:
        return upload.name
    return _("„%(document)s“, Seite %(page)s") % {"document": upload.photo_document.title, "page": upload.page_number}


def _photo_documents_create(submission: Submission, pages: list[Upload]) -> None:
    """One document per document made of photos, its pages listed in the member's order; its PDF does not exist
    yet: the worker assembles it from the pages' checked copies (uploads.screening) once this commits."""
    by_document: dict[int, list[Upload]] = {}
    for page in sorted(pages, key=lambda upload: (upload.photo_document_id, upload.page_number, upload.pk)):
        by_document.setdefault(page.photo_document_id, []).append(page)
    for group in by_document.values():
        document = SubmissionDocument.objects.create(
            submission=submission,
            name=photo_document_file_name(document=group[0].photo_document),
            mime_type="application/pdf",
            scan_status=ScanStatus.PENDING,
        )
        DocumentPage.objects.bulk_create(
            DocumentPage(
                document=document,
                number=number,
                rotation=page.rotation,
                sent_sha256=page.sent_sha256 or page.sha256,
                **page.shared_with(DocumentPage),
            )
            for number, page in enumerate(group, start=1)
        )
        receiving._screen_on_commit(document)


def draft_transmit(*, draft: Draft, actor: Actor, confirmed: bool) -> Submission:
    """Turn the draft into a submission, end all of the member's PINs and record it, in one transaction.

    A second call for the same draft (double click, second tab, retry) returns the first submission.
    """
    existing = Submission.objects.filter(draft_public_id=draft.public_id).first()
    if existing is not None:
        return existing
    if not confirmed:
        raise TransmitError(_("Bitte bestätigen Sie, dass Ihre Angaben richtig und vollständig sind."))
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Draft.objects.select_for_update(of=("self",)).select_related("reason", "member").filter(pk=draft.pk).first()
        )
        if locked is None:
            existing = Submission.objects.filter(draft_public_id=draft.public_id).first()
            if existing is not None:
                return existing
            raise TransmitError(_("Es gibt keinen Entwurf zum Übermitteln."))
        # Locked, so that the worker cannot swap a file for its disarmed copy while it moves to the submission.
        uploads = list(locked.uploads.select_for_update(of=("self",)).select_related("photo_document"))
        _transmit_check(locked, uploads)
        pages = [upload for upload in uploads if upload.photo_document_id]
        submission = _submission_create(
            member=locked.member,
            draft_public_id=locked.public_id,
            reason=locked.reason,
            message=locked.message,
            contact_changes=locked.contact_changes,
            transmitted_at=now,
            receipt_available_until=now + datetime.timedelta(minutes=settings.RECEIPT_AVAILABLE_MINUTES),
        )
        # Same uuid, same encrypted file, same scan state.
        SubmissionDocument.objects.bulk_create(
            SubmissionDocument(submission=submission, **upload.shared_with(SubmissionDocument))
            for upload in uploads
            if not upload.photo_document_id
        )
        _photo_documents_create(submission, pages)
        pin_invalidate_all(member=locked.member, reason=EndReason.TRANSMITTED, actor=actor)
        _submission_audit(submission, action=AuditAction.SUBMISSION_TRANSMITTED, actor=actor, documents=len(uploads))
        # The files now belong to the submission's documents (same uuid, same encrypted file).
        locked.delete()
        transaction.on_commit(lambda: submission_renders_enqueue(submission_id=submission.pk))
    return submission


def submission_set_status(*, submission: Submission, status: str, note: str, actor: Actor) -> Submission:
    """A case worker moves a submission to received / in progress / done, with a note."""
    status = SubmissionStatus(status)
    with transaction.atomic():
        locked = Submission.objects.select_for_update().select_related("member").get(pk=submission.pk)
        locked.status = status
        locked.status_note = note
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_note", "status_changed_at"])
        _submission_audit(locked, action=AuditAction.SUBMISSION_STATUS, actor=actor, status=str(status))
        if status == SubmissionStatus.DONE:
            submission_close(submission=locked)
    submission.refresh_from_db()
    return submission
