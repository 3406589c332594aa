"""Writes of the uploads app: autosave the draft, receive resumable uploads, transmit, purge, case status."""

import datetime
import errno
import io
import logging
import secrets
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import storages
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from core.crypto import DecryptionError, iter_file, open_decrypted, save_encrypted
from members.models import Member
from pins.constants import EndReason
from pins.models import LetterPin
from pins.services import pin_invalidate_all

from . import files
from .constants import (
    ALLOWED_TYPES,
    REFERENCE_ALPHABET,
    REFERENCE_PREFIX,
    SCAN_REFUSED,
    ScanStatus,
    SubmissionStatus,
    UploadStatus,
)
from .exceptions import (
    DraftConflict,
    FileUnavailable,
    InvalidFile,
    OffsetMismatch,
    StorageFailed,
    TransmitError,
    UploadBusy,
    UploadError,
    UploadExpired,
    UploadNotFound,
    UploadTooLarge,
)
from .models import Draft, Submission, SubmissionDocument, Upload
from .staging import StagedFile

logger = logging.getLogger(__name__)

# Request bodies are read and written in pieces of this size: memory stays bounded, and a piece matches
# gunicorn's largest socket read, so its read-ahead buffer never has to be copied around.
READ_CHUNK = 1024 * 1024
# PostgreSQL's SQLSTATE for a NOWAIT row lock held by another transaction (lock_not_available).
LOCK_NOT_AVAILABLE = "55P03"
DRAFT_FIELDS = ("reason", "message", "phone", "email", "address_line", "street", "postcode", "town")


def _storage_failed(error: OSError, *, upload: Upload, step: str) -> StorageFailed:
    """The member's message for a storage failure; the log names the errno, never a path's or file's content."""
    code = errno.errorcode.get(error.errno or 0, "unknown")
    logger.warning("upload %s: %s failed with %s", upload.public_id, step, code)
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    return StorageFailed(
        _(
            "Die Datei konnte gerade nicht gespeichert werden. Bitte versuchen Sie es in einigen Minuten noch "
            "einmal. Ihre übrigen Angaben bleiben erhalten."
        ),
        status=507 if full else 503,
    )


def _delete_quietly(storage, name: str, *, upload: Upload) -> None:
    """Remove a file after a failure; on a read-only disk that fails too, and the purge task tries later."""
    try:
        if storage.exists(name):
            storage.delete(name)
    except OSError as error:
        logger.warning(
            "upload %s: removing a stored file failed with %s",
            upload.public_id,
            errno.errorcode.get(error.errno or 0, "unknown"),
        )


def _staging():
    return storages["staging"]


def _private():
    return storages["default"]


# --- Drafts -------------------------------------------------------------------------------------------------


def draft_get_or_create(*, member: Member) -> Draft:
    """The member's one open draft, created empty on first use."""
    draft = Draft.objects.filter(member=member).first()
    if draft is not None:
        return draft
    try:
        with transaction.atomic():
            return Draft.objects.create(member=member)
    except IntegrityError:
        # A second tab created it at the same moment.
        return Draft.objects.get(member=member)


def draft_autosave(*, draft: Draft, version: int, fields: dict[str, Any], actor: Actor) -> Draft:
    """Save the draft's fields if `version` is still the latest; raises DraftConflict for a stale writer."""
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise ValueError(f"not draft fields: {sorted(unknown)}")
    with transaction.atomic():
        changed = Draft.objects.filter(pk=draft.pk, version=version).update(
            **fields, version=F("version") + 1, updated_at=timezone.now()
        )
        if not changed:
            current = Draft.objects.filter(pk=draft.pk).values_list("version", flat=True).first()
            raise DraftConflict(current_version=current or 0)
        audit_record(
            action=AuditAction.DRAFT_SAVED,
            actor=actor,
            member=draft.member,
            data={"draft": str(draft.public_id), "version": version + 1},
        )
    draft.refresh_from_db()
    return draft


# --- Uploads ------------------------------------------------------------------------------------------------


def _draft_usage(draft: Draft) -> tuple[int, int]:
    usage = draft.uploads.aggregate(total=Coalesce(Sum(Coalesce("size", "length")), 0))
    return draft.uploads.count(), usage["total"]


def upload_create(*, draft: Draft, name: str, length: int, fingerprint: str = "", actor: Actor) -> Upload:
    """Announce an upload; refused (413) before any byte is stored when it would break a limit."""
    if length < 0:
        raise UploadError(_("Die Dateigröße fehlt oder ist ungültig."))
    if length == 0:
        raise InvalidFile(_("Die Datei ist leer. Bitte wählen Sie eine andere Datei."))
    max_file = settings.UPLOAD_MAX_FILE_SIZE
    if length > max_file:
        raise UploadTooLarge(
            _("Die Datei ist zu groß. Erlaubt sind höchstens %(max)s MB je Datei.") % {"max": max_file // 2**20}
        )
    with transaction.atomic():
        # The draft's row lock serialises concurrent announcements so the per-draft limits hold.
        if Draft.objects.select_for_update().filter(pk=draft.pk).first() is None:
            raise UploadNotFound(_("Es gibt keinen Entwurf mehr."))
        count, total = _draft_usage(draft)
        if count >= settings.UPLOAD_MAX_DRAFT_FILES:
            raise UploadTooLarge(
                _("Sie können höchstens %(count)s Dateien anhängen.") % {"count": settings.UPLOAD_MAX_DRAFT_FILES}
            )
        if total + length > settings.UPLOAD_MAX_DRAFT_SIZE:
            raise UploadTooLarge(
                _("Alle Dateien zusammen dürfen höchstens %(max)s MB groß sein.")
                % {"max": settings.UPLOAD_MAX_DRAFT_SIZE // 2**20}
            )
        upload = Upload(
            draft=draft,
            name=files.name_sanitize(name),
            fingerprint=fingerprint[:200],
            length=length,
            expires_at=timezone.now() + datetime.timedelta(hours=settings.UPLOAD_EXPIRY_HOURS),
        )
        upload.staging_name = f"uploads/{upload.public_id}/"
        upload.save()
    return upload


class _LargeChunks(File):
    DEFAULT_CHUNK_SIZE = READ_CHUNK


class _BoundedReader:
    """Reads at most `limit` bytes from the request in chunks; a dropped connection just ends the data."""

    def __init__(self, stream: IO[bytes], limit: int):
        self._stream = stream
        self._remaining = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > READ_CHUNK:
            size = READ_CHUNK
        size = min(size, self._remaining)
        if size <= 0:
            return b""
        try:
            data = self._stream.read(size)
        except OSError:
            # The client went away midway (UnreadablePostError is an OSError): keep what arrived.
            data = b""
        self._remaining -= len(data)
        self.count += len(data)
        return data


def _part_names(upload: Upload) -> list[str]:
    try:
        _dirs, names = _staging().listdir(upload.staging_name)
    except FileNotFoundError:
        return []
    return sorted(f"{upload.staging_name}{name}" for name in names)


def _staged(upload: Upload) -> io.BufferedReader:
    """The bytes received so far, [0, offset), as one seekable file; parts beyond the offset are stale."""
    storage, parts, position = _staging(), [], 0
    for name in _part_names(upload):
        start = int(name.rsplit("/", 1)[-1])
        if start != position or position >= upload.offset:
            continue
        position = min(start + storage.size(name), upload.offset)
        parts.append((start, position, name))
    if position != upload.offset:
        raise InvalidFile(_("Die Datei ist unvollständig angekommen. Bitte laden Sie sie erneut hoch."))
    return io.BufferedReader(StagedFile(storage, parts), buffer_size=READ_CHUNK)


def _write_part(upload: Upload, *, offset: int, stream: IO[bytes]) -> int:
    """Stage the request's bytes as the part starting at `offset`; raises StorageFailed and keeps no partial part."""
    name = f"{upload.staging_name}{offset:012d}"
    storage = _staging()
    reader = _BoundedReader(stream, upload.length - offset)
    try:
        if storage.exists(name):
            storage.delete(name)
        storage.save(name, _LargeChunks(reader, name=name))
        if reader.count == 0:
            storage.delete(name)
    except OSError as error:
        _delete_quietly(storage, name, upload=upload)
        raise _storage_failed(error, upload=upload, step="staging a part") from error
    return reader.count


def _lock(upload: Upload) -> Upload:
    try:
        locked = (
            Upload.objects.select_for_update(nowait=True, of=("self",))
            .select_related("draft__member")
            .get(pk=upload.pk)
        )
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise  # the database itself is away: the 503 page, not "busy"
        raise UploadBusy(_("Diese Datei wird gerade in einem anderen Fenster hochgeladen.")) from error
    except Upload.DoesNotExist as error:
        raise UploadNotFound(_("Diese Datei gibt es nicht mehr.")) from error
    return locked


def upload_ensure_live(*, upload: Upload, now: datetime.datetime | None = None) -> None:
    """An unfinished upload past its expiry is deleted here and then; raises UploadExpired (410) for it."""
    expired = Upload.objects.filter(
        pk=upload.pk, status=UploadStatus.IN_PROGRESS, expires_at__lte=now or timezone.now()
    )
    deleted, _detail = expired.delete()
    if deleted:
        _discard_files(upload)
        raise UploadExpired(_("Dieser Upload ist abgelaufen und wurde gelöscht. Bitte laden Sie die Datei neu hoch."))


def upload_append(
    *, upload: Upload, offset: int, stream: IO[bytes], content_length: int | None, actor: Actor
) -> Upload:
    """Store the bytes of one PATCH at `offset` and complete the upload when all bytes are in.

    Raises OffsetMismatch (409) when `offset` is not the current offset, UploadExpired (410), UploadTooLarge
    (413) when more bytes are sent than announced, UnsupportedType (415) as soon as the first bytes show a type
    that is not allowed, InvalidFile (422) when the complete file is unusable. Refused files are deleted.
    StorageFailed (507/503) when the bytes cannot be written: the offset stays where it was, so the client
    sends the same bytes again later.
    """
    upload_ensure_live(upload=upload)
    refusal: UploadError | None = None
    with transaction.atomic():
        locked = _lock(upload)
        if offset != locked.offset:
            raise OffsetMismatch(
                _("Der Upload steht an einer anderen Stelle (%(offset)s Bytes). Bitte fortsetzen.")
                % {"offset": locked.offset}
            )
        if locked.is_complete:
            return locked
        if content_length is not None and offset + content_length > locked.length:
            raise UploadTooLarge(_("Es wurden mehr Daten gesendet als angekündigt."))
        received = _write_part(locked, offset=offset, stream=stream)
        locked.offset += received
        try:
            if not locked.mime_type and locked.offset >= min(files.SNIFF_BYTES, locked.length):
                with _staged(locked) as staged:
                    head = staged.read(files.SNIFF_BYTES)
                locked.mime_type = files.type_detect(head=head, name=locked.name)
            if locked.offset == locked.length:
                _complete(locked, actor=actor)
            else:
                locked.save(update_fields=["offset", "mime_type", "updated_at"])
        except StorageFailed:
            raise  # rolls the offset back; the upload stays for a retry
        except OSError as error:
            _delete_quietly(_private(), f"documents/{locked.public_id}", upload=locked)
            raise _storage_failed(error, upload=locked, step="storing the file") from error
        except UploadError as error:
            refusal = error
    if refusal is not None:
        _discard_files(locked)
        Upload.objects.filter(pk=locked.pk).delete()
        raise refusal
    if locked.is_complete:
        _delete_parts(locked)
    return locked


def _complete(upload: Upload, *, actor: Actor) -> None:
    """Check and encrypt the assembled file; the row becomes complete in the caller's transaction.

    The file is stored as the member sent it and marked pending: the worker scans and disarms it once this
    transaction commits (uploads.screening), so no web worker waits for clamd.
    """
    with _staged(upload) as staged:
        checked, mime = files.file_clean(staged, mime=upload.mime_type)
        stored = save_encrypted(
            storage=_private(),
            name=f"documents/{upload.public_id}",
            chunks=iter_file(checked),
            aad=upload.aad,
        )
    upload.storage_name = stored.name
    upload.sha256 = upload.sent_sha256 = stored.sha256
    upload.size = stored.size
    upload.mime_type = mime
    upload.name = files.name_with_extension(upload.name, ALLOWED_TYPES[mime][0])
    upload.scan_status = ScanStatus.PENDING
    upload.status = UploadStatus.COMPLETE
    upload.save(
        update_fields=[
            "offset", "mime_type", "storage_name", "sha256", "sent_sha256", "size", "name", "scan_status", "status",
            "updated_at",
        ]
    )  # fmt: skip
    audit_record(
        action=AuditAction.UPLOAD_COMPLETED,
        actor=actor,
        member=upload.draft.member,
        data={"upload": str(upload.public_id), "size": stored.size, "mime_type": mime},
    )
    _screen_on_commit("upload", upload.pk)


def _screen_on_commit(kind: str, pk: int) -> None:
    from .tasks import screen_file  # tasks import services

    transaction.on_commit(lambda: screen_file.delay(kind, pk))


def _delete_parts(upload: Upload) -> None:
    storage = _staging()
    try:
        for name in _part_names(upload):
            storage.delete(name)
        if upload.staging_name:
            storage.delete(upload.staging_name.rstrip("/"))
    except OSError as error:
        # A read-only disk: the row goes anyway, the orphaned part stays until someone clears the disk.
        logger.warning(
            "upload %s: removing staged parts failed with %s",
            upload.public_id,
            errno.errorcode.get(error.errno or 0, "unknown"),
        )


def _discard_files(upload: Upload) -> None:
    _delete_parts(upload)
    if upload.storage_name:
        _delete_quietly(_private(), upload.storage_name, upload=upload)


def upload_delete(*, upload: Upload, actor: Actor) -> None:
    """The member removes a file from the draft (complete or not); its stored bytes are deleted."""
    with transaction.atomic():
        locked = (
            Upload.objects.select_for_update(of=("self",)).select_related("draft__member").filter(pk=upload.pk).first()
        )
        if locked is None:
            return
        locked.delete()
        audit_record(
            action=AuditAction.UPLOAD_DELETED,
            actor=actor,
            member=locked.draft.member,
            data={"upload": str(locked.public_id)},
        )
    _discard_files(locked)


def upload_store(*, draft: Draft, name: str, fileobj: IO[bytes], size: int, actor: Actor) -> Upload:
    """Store a whole file at once (the form without JavaScript) through the same checks as chunked uploads."""
    upload = upload_create(draft=draft, name=name, length=size, actor=actor)
    try:
        return upload_append(upload=upload, offset=0, stream=fileobj, content_length=size, actor=actor)
    except UploadError:
        upload_delete(upload=upload, actor=actor)
        raise


def _open_stored(*, name: str, aad: bytes, what: str) -> Iterator[bytes]:
    """open_decrypted, with a message instead of an error when the file cannot be read or decrypted."""
    try:
        return open_decrypted(storage=_private(), name=name, aad=aad)
    except OSError as error:
        logger.warning("%s: reading the stored file failed with %s", what, errno.errorcode.get(error.errno or 0, "?"))
    except DecryptionError:
        # A wrong or missing key, or an altered file: an operator must look, so this is an error, not a warning.
        logger.error("%s: the stored file cannot be decrypted", what)
    raise FileUnavailable(
        _(
            "Die Datei kann gerade nicht geöffnet werden. Bitte versuchen Sie es später noch einmal. Wenn es dabei "
            "bleibt, rufen Sie bitte unsere kostenlose Hotline %(phone)s an."
        )
        % {"phone": settings.HOTLINE_PHONE}
    )


def upload_open(*, upload: Upload) -> Iterator[bytes]:
    """The decrypted content of a complete upload, streamed; FileUnavailable (503) when it cannot be read."""
    return _open_stored(name=upload.storage_name, aad=upload.aad, what=f"upload {upload.public_id}")


def document_open(*, document: SubmissionDocument) -> Iterator[bytes]:
    """The decrypted content of a transmitted document, streamed; only for views that checked permission.

    Raises FileUnavailable (503) when it cannot be read.
    """
    return _open_stored(name=document.storage_name, aad=document.aad, what=f"document {document.public_id}")


# --- Transmission -------------------------------------------------------------------------------------------


def reference_generate() -> str:
    """A reference like EP-7K4M-Q2XH: 40 random bits from an alphabet without look-alikes."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{REFERENCE_PREFIX}-{body[:4]}-{body[4:]}"


def _submission_create(**fields) -> Submission:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Submission.objects.create(reference=reference_generate(), **fields)
        except IntegrityError:
            if Submission.objects.filter(draft_public_id=fields["draft_public_id"]).exists():
                raise
    raise RuntimeError("no free submission reference")


def _transmit_hold(uploads: list[Upload]) -> None:
    """Transmission waits while a file is being checked and refuses refused files; a held file goes along held."""
    refused = [upload.name for upload in uploads if upload.scan_status in SCAN_REFUSED]
    if refused:
        raise TransmitError(
            _("Bitte entfernen Sie zuerst diese Dateien, die wir nicht annehmen konnten: %(names)s")
            % {"names": ", ".join(refused)}
        )
    if any(upload.scan_status == ScanStatus.PENDING for upload in uploads):
        raise TransmitError(
            _("Ihre Dateien werden gerade noch geprüft. Bitte warten Sie einen Moment und senden Sie dann erneut.")
        )


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
        uploads = list(locked.uploads.select_for_update(of=("self",)))
        if locked.reason is None:
            raise TransmitError(_("Bitte wählen Sie einen Anlass."))
        if any(not upload.is_complete for upload in uploads):
            raise TransmitError(
                _(
                    "Mindestens eine Datei ist noch nicht vollständig hochgeladen. Bitte setzen Sie den Upload fort oder löschen Sie die Datei."
                )
            )
        _transmit_hold(uploads)
        if not (uploads or locked.message.strip() or locked.contact_changes):
            raise TransmitError(
                _("Bitte hängen Sie ein Dokument an, schreiben Sie eine Nachricht oder ändern Sie Ihre Kontaktdaten.")
            )
        submission = _submission_create(
            member=locked.member,
            draft_public_id=locked.public_id,
            reason=locked.reason,
            message=locked.message,
            contact_changes=locked.contact_changes,
            transmitted_at=now,
            receipt_available_until=now + datetime.timedelta(minutes=settings.RECEIPT_AVAILABLE_MINUTES),
        )
        SubmissionDocument.objects.bulk_create(
            SubmissionDocument(
                public_id=upload.public_id,
                submission=submission,
                name=upload.name,
                mime_type=upload.mime_type,
                size=upload.size,
                sha256=upload.sha256,
                storage_name=upload.storage_name,
                sent_sha256=upload.sent_sha256,
                scan_status=upload.scan_status,
                scan_note=upload.scan_note,
                scanned_at=upload.scanned_at,
            )
            for upload in uploads
        )
        pin_invalidate_all(member=locked.member, reason=EndReason.TRANSMITTED, actor=actor)
        audit_record(
            action=AuditAction.SUBMISSION_TRANSMITTED,
            actor=actor,
            member=locked.member,
            data={"reference": submission.reference, "documents": len(uploads)},
        )
        # The files now belong to the submission's documents (same uuid, same encrypted file).
        locked.delete()
    return submission


# --- Case workers -------------------------------------------------------------------------------------------


def submission_set_status(*, submission: Submission, status: str, note: str, actor: Actor) -> Submission:
    """A case worker moves a submission to received / in progress / done, with a note."""
    status = SubmissionStatus(status)
    with transaction.atomic():
        locked = Submission.objects.select_for_update().select_related("member").get(pk=submission.pk)
        locked.status = status
        locked.status_note = note
        locked.status_changed_at = timezone.now()
        locked.save(update_fields=["status", "status_note", "status_changed_at"])
        audit_record(
            action=AuditAction.SUBMISSION_STATUS,
            actor=actor,
            member=locked.member,
            data={"reference": locked.reference, "status": str(status)},
        )
    submission.refresh_from_db()
    return submission


# --- Housekeeping -------------------------------------------------------------------------------------------


def uploads_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete unfinished uploads past their expiry, with their parts in staging; returns the count."""
    now = now or timezone.now()
    count = 0
    for upload in Upload.objects.filter(status=UploadStatus.IN_PROGRESS, expires_at__lte=now).iterator():
        deleted, _detail = Upload.objects.filter(pk=upload.pk, status=UploadStatus.IN_PROGRESS).delete()
        if deleted:
            _discard_files(upload)
            count += 1
    return count


def drafts_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete drafts (and their files) of members whose PINs all ended more than DRAFT_RETENTION_DAYS ago."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.DRAFT_RETENTION_DAYS)
    recent_pin = (
        LetterPin.objects.filter(member_id=OuterRef("member_id"))
        .annotate(end=Coalesce("ended_at", "expires_at"))
        .filter(end__gt=cutoff)
    )
    count = 0
    for draft in Draft.objects.filter(updated_at__lt=cutoff).exclude(Exists(recent_pin)).select_related("member"):
        uploads = list(draft.uploads.all())
        with transaction.atomic():
            deleted, _detail = Draft.objects.filter(pk=draft.pk).delete()
            if not deleted:
                continue
            audit_record(
                action=AuditAction.DRAFT_PURGED,
                actor=Actor.system(),
                member=draft.member,
                data={"draft": str(draft.public_id), "files": len(uploads)},
            )
        for upload in uploads:
            _discard_files(upload)
        count += 1
    return count
