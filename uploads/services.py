"""Writes of the uploads app: autosave the draft, receive resumable uploads, transmit, purge, case status."""

import collections
import datetime
import errno
import hashlib
import io
import logging
import secrets
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from core import storage as stored_files
from core.crypto import (
    DecryptionError,
    encrypt_chunks,
    iter_file,
    open_decrypted,
    open_decrypting_reader,
)
from core.queue import task_enqueue
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
from .models import Draft, QuarantinedFile, Submission, SubmissionDocument, Upload
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
    """Remove a file after a failure; on a read-only disk (or S3 away) that fails too, and the purge tries later."""
    try:
        stored_files.delete(storage, name)
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
        # The parts are the document's encrypted segments from the first byte on: documents/<uuid>/<offset>.
        upload.storage_name = f"documents/{upload.public_id}/"
        upload.save()
    return upload


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


# Each PATCH (and the plain form's one request) is encrypted as it arrives and stored as the document's own
# segment, documents/<uuid>/<offset:012d>; the row lists the segments in order with their sizes, and a
# segment's key is bound into its authentication data, so segments cannot be swapped, reordered or dropped.


def _segment_aad(aad: bytes, key: str) -> bytes:
    return aad + b"|segment:" + key.encode()


def _segments_reader(*, storage_name: str, segments: list[dict], aad: bytes) -> io.BufferedReader:
    """The plaintext of the segments back to back as one seekable file, decrypted segment by segment."""
    sizes = {segment["key"]: segment["size"] for segment in segments}
    parts, position = [], 0
    for segment in segments:
        parts.append((position, position + segment["size"], segment["key"]))
        position += segment["size"]

    def open_part(key: str) -> IO[bytes]:
        return open_decrypting_reader(
            storage=_private(), name=f"{storage_name}{key}", size=sizes[key], aad=_segment_aad(aad, key)
        )

    return io.BufferedReader(StagedFile(open_part, parts), buffer_size=READ_CHUNK)


def _staged(upload: Upload) -> io.BufferedReader:
    """The bytes received so far, [0, offset), as one seekable file."""
    if sum(segment["size"] for segment in upload.segments) != upload.offset:
        raise InvalidFile(_("Die Datei ist unvollständig angekommen. Bitte laden Sie sie erneut hoch."))
    return _segments_reader(storage_name=upload.storage_name, segments=upload.segments, aad=upload.aad)


# The SHA-256 of [0, offset) of uploads this process received the last part of, so the next part continues it
# and completion needs no second read. A part that reaches another process (or node) misses it, and completion
# then hashes the decrypted segments once.
_RUNNING_HASHES: collections.OrderedDict[tuple[int, int], Any] = collections.OrderedDict()
_RUNNING_HASHES_MAX = 256


def _running_hash_take(upload: Upload):
    if upload.offset == 0:
        return hashlib.sha256()
    return _RUNNING_HASHES.pop((upload.pk, upload.offset), None)


def _running_hash_keep(upload: Upload, running) -> None:
    if running is None or upload.is_complete:
        return
    _RUNNING_HASHES[(upload.pk, upload.offset)] = running
    while len(_RUNNING_HASHES) > _RUNNING_HASHES_MAX:
        _RUNNING_HASHES.popitem(last=False)


def _write_part(upload: Upload, *, offset: int, stream: IO[bytes], running=None) -> dict | None:
    """Encrypt and store the request's bytes as the segment starting at `offset`, hashing them on the way into
    `running` (the document's SHA-256 so far, when this process has it).

    Returns the segment ({key, size}), or None when no byte arrived. Raises StorageFailed and keeps no partial
    segment (a failed S3 write leaves nothing; a leftover from a killed process is purged by beat).
    """
    key = f"{offset:012d}"
    name = f"{upload.storage_name}{key}"
    storage = _private()
    reader = _BoundedReader(stream, upload.length - offset)

    def chunks() -> Iterator[bytes]:
        for chunk in iter_file(reader, chunk_size=READ_CHUNK):
            if running is not None:
                running.update(chunk)
            yield chunk

    try:
        stored_files.write_stream(storage, name, encrypt_chunks(chunks(), aad=_segment_aad(upload.aad, key)))
        if reader.count == 0:
            stored_files.delete(storage, name)
            return None
    except OSError as error:
        _delete_quietly(storage, name, upload=upload)
        raise _storage_failed(error, upload=upload, step="storing a part") from error
    return {"key": key, "size": reader.count}


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
    _refuse_legacy_staging(upload)
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
        running = _running_hash_take(locked)
        segment = _write_part(locked, offset=offset, stream=stream, running=running)
        if segment is not None:
            locked.segments = [*locked.segments, segment]
            locked.offset += segment["size"]
        try:
            if not locked.mime_type and locked.offset >= min(files.SNIFF_BYTES, locked.length):
                with _staged(locked) as staged:
                    head = staged.read(files.SNIFF_BYTES)
                locked.mime_type = files.type_detect(head=head, name=locked.name)
            if locked.offset == locked.length:
                _complete(locked, actor=actor, running=running)
            else:
                locked.save(update_fields=["offset", "segments", "mime_type", "updated_at"])
        except StorageFailed:
            raise  # rolls the offset back; the upload stays for a retry
        except OSError as error:
            raise _storage_failed(error, upload=locked, step="storing the file") from error
        except UploadError as error:
            refusal = error
    if refusal is None:
        _running_hash_keep(locked, running)
    if refusal is not None:
        _discard_files(locked)
        Upload.objects.filter(pk=locked.pk).delete()
        raise refusal
    if locked.is_complete:
        # Leftovers of failed tries (a segment written whose request then failed) are not the document.
        _delete_parts(locked, keep=frozenset(f"{locked.storage_name}{segment['key']}" for segment in locked.segments))
    return locked


def _complete(upload: Upload, *, actor: Actor, running=None) -> None:
    """Check the assembled file; the row becomes complete, and pending, in the caller's transaction.

    Nothing is copied: the received segments are the document as the member sent it. The worker scans and
    disarms it once this transaction commits (uploads.screening), so no web worker waits for clamd.
    """
    with _staged(upload) as staged:
        try:
            checked, mime = files.file_clean(staged, mime=upload.mime_type)
        except InvalidFile as error:
            fault = staged.raw.fault
            if isinstance(fault, OSError):
                raise fault from error  # the storage was away, the file may be fine: 503, try again
            if isinstance(fault, DecryptionError):
                raise OSError(errno.EIO, "a stored segment cannot be decrypted") from error
            raise
        if running is not None:
            size, sha256 = upload.offset, running.hexdigest()
        else:
            size, sha256 = _sha256_of(checked)
    upload.sha256 = upload.sent_sha256 = sha256
    upload.size = size
    upload.mime_type = mime
    upload.name = files.name_with_extension(upload.name, ALLOWED_TYPES[mime][0])
    upload.scan_status = ScanStatus.PENDING
    upload.status = UploadStatus.COMPLETE
    upload.save(
        update_fields=[
            "offset", "segments", "mime_type", "sha256", "sent_sha256", "size", "name", "scan_status", "status",
            "updated_at",
        ]
    )  # fmt: skip
    audit_record(
        action=AuditAction.UPLOAD_COMPLETED,
        actor=actor,
        member=upload.draft.member,
        data={"upload": str(upload.public_id), "size": size, "mime_type": mime},
    )
    _screen_on_commit("upload", upload.pk)


SCREEN_TASK = "uploads.tasks.screen_file"


def _screen_on_commit(kind: str, pk: int) -> None:
    """Hand the file to the worker's check once the transaction commits; with the broker away, beat's rescan
    hands it over later (the file stays "wird geprüft" until then)."""
    transaction.on_commit(lambda: task_enqueue(name=SCREEN_TASK, args=(kind, pk), what=f"check of {kind} {pk}"))


def _sha256_of(src: IO[bytes]) -> tuple[int, str]:
    """Size and SHA-256 of a whole file read once from the start (each segment was hashed as it arrived)."""
    src.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := src.read(READ_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    src.seek(0)
    if isinstance(src, io.BufferedReader) and getattr(src.raw, "fault", None) is not None:
        raise OSError(errno.EIO, "reading a stored segment failed")
    return size, digest.hexdigest()


def _refuse_legacy_staging(upload: Upload) -> None:
    """An upload begun before segments (plain parts in staging) cannot go on: it is deleted, the member restarts."""
    if upload.staging_name and not upload.is_complete:
        deleted, _detail = Upload.objects.filter(pk=upload.pk, status=UploadStatus.IN_PROGRESS).delete()
        if deleted:
            _discard_files(upload)
        raise UploadExpired(_("Dieser Upload ist abgelaufen und wurde gelöscht. Bitte laden Sie die Datei neu hoch."))


def _delete_parts(upload: Upload, *, keep: frozenset[str] = frozenset()) -> None:
    """Delete the upload's stored segments except those named in `keep`, and any plain part of old staging."""
    try:
        if upload.storage_name.endswith("/"):
            for name, _modified in list(stored_files.list_files(_private(), upload.storage_name)):
                if name not in keep:
                    stored_files.delete(_private(), name)
        if upload.staging_name:
            for name, _modified in list(stored_files.list_files(_staging(), upload.staging_name)):
                stored_files.delete(_staging(), name)
    except OSError as error:
        # A read-only disk or the object store away: the orphan purge (beat) removes them later.
        logger.warning(
            "upload %s: removing stored parts failed with %s",
            upload.public_id,
            errno.errorcode.get(error.errno or 0, "unknown"),
        )


def _discard_files(upload: Upload) -> None:
    _delete_parts(upload)
    if upload.storage_name and not upload.storage_name.endswith("/"):
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


def _open_segments(*, storage_name: str, segments: list[dict], aad: bytes) -> Iterator[bytes]:
    """The segments' plaintext in order; the first is opened and checked before this returns."""
    first, *rest = segments
    opened = open_decrypted(
        storage=_private(), name=f"{storage_name}{first['key']}", aad=_segment_aad(aad, first["key"])
    )
    return _segments_then(opened, first, rest, storage_name=storage_name, aad=aad)


def _segments_then(opened: Iterator[bytes], first: dict, rest: list[dict], *, storage_name: str, aad: bytes):
    segment = first
    while True:
        size = 0
        for chunk in opened:
            size += len(chunk)
            yield chunk
        if size != segment["size"]:
            raise DecryptionError("a segment has another size than recorded")
        if not rest:
            return
        segment, *rest = rest
        opened = open_decrypted(
            storage=_private(), name=f"{storage_name}{segment['key']}", aad=_segment_aad(aad, segment["key"])
        )


def _open_stored(*, name: str, aad: bytes, what: str, segments: list[dict] | None = None) -> Iterator[bytes]:
    """open_decrypted, with a message instead of an error when the file cannot be read or decrypted.

    A document is its ordered encrypted segments; one stored before segments existed is a single file.
    """
    try:
        if segments:
            return _open_segments(storage_name=name, segments=segments, aad=aad)
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
    return _open_stored(
        name=upload.storage_name, aad=upload.aad, what=f"upload {upload.public_id}", segments=upload.segments
    )


def document_open(*, document: SubmissionDocument) -> Iterator[bytes]:
    """The decrypted content of a transmitted document, streamed; only for views that checked permission.

    Raises FileUnavailable (503) when it cannot be read.
    """
    return _open_stored(
        name=document.storage_name,
        aad=document.aad,
        what=f"document {document.public_id}",
        segments=document.segments,
    )


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
                segments=upload.segments,
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


def uploads_purge_orphans(*, now: datetime.datetime | None = None) -> int:
    """Delete stored segments no row lists (a request that died after writing, a removal that failed while the
    storage was away), and plain parts of the old staging with no upload in progress; returns the count.

    Reads the whole storage, so it finds what any node wrote (S3, or a volume all nodes share). Only files
    older than ORPHAN_GRACE_MINUTES go: a request may be writing a segment whose row it has not saved yet.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.UPLOAD_ORPHAN_GRACE_MINUTES)
    count = 0
    for storage, prefix in ((_private(), "documents"), (_staging(), "uploads")):
        stale = [name for name, modified in stored_files.list_files(storage, prefix) if modified < cutoff]
        by_owner: dict[str, list[str]] = {}
        for name in stale:
            # documents/<uuid>/<segment>, documents/<uuid> (before segments), documents/<uuid>.<run>.safe (disarmed)
            by_owner.setdefault(name.split("/")[1].split(".")[0], []).append(name)
        for owner, names in by_owner.items():
            for name in names:
                if name not in _listed_names(owner, staging=storage is _staging()):
                    stored_files.delete(storage, name)
                    count += 1
    return count


def _listed_names(public_id: str, *, staging: bool) -> set[str]:
    """The stored names a row still needs for this uuid (upload or transmitted document)."""
    try:
        uploads = list(Upload.objects.filter(public_id=public_id))
        documents = list(SubmissionDocument.objects.filter(public_id=public_id))
        quarantined = list(QuarantinedFile.objects.filter(public_id=public_id))
    except (ValueError, ValidationError):
        return set()  # not a uuid: nothing of ours
    if staging:
        return {
            name
            for upload in uploads
            if upload.staging_name and not upload.is_complete
            for name, _modified in stored_files.list_files(_staging(), upload.staging_name)
        }
    names = set()
    for row in [*uploads, *documents, *quarantined]:
        if row.segments:
            names.update(f"{row.storage_name}{segment['key']}" for segment in row.segments)
        elif row.storage_name and not row.storage_name.endswith("/"):
            names.add(row.storage_name)
    return names
