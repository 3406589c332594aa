"""Receiving files: announce an upload (tus creation), append a request's bytes, complete it, delete it.

The service side of the tus endpoints and of the plain upload form: limits, the row lock against a second
writer, the type check on the first bytes and the file check on completion, then the worker's check on commit.
"""

import datetime
import errno
from typing import IO, Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from core.crypto import DecryptionError
from core.queue import task_enqueue

from .. import files
from ..constants import ALLOWED_TYPES, ScanStatus, UploadStatus
from ..exceptions import (
    FileTooLarge,
    InvalidFile,
    OffsetMismatch,
    StorageFailed,
    UploadBusy,
    UploadError,
    UploadExpired,
    UploadNotFound,
    UploadTooLarge,
)
from ..models import Draft, SubmissionDocument, Upload
from ._part_sql import part_lock, part_save
from ._segments import running_hash_keep, running_hash_take, segment_write, sha256_of, upload_received
from ._storage import storage_failed, upload_discard_unfinished

# PostgreSQL's SQLSTATE for a NOWAIT row lock held by another transaction (lock_not_available).
LOCK_NOT_AVAILABLE = "55P03"
_EXPIRED = _("Dieser Upload ist abgelaufen und wurde gelöscht. Bitte laden Sie die Datei neu hoch.")


def _draft_usage(draft: Draft) -> tuple[int, int]:
    usage = draft.uploads.aggregate(total=Coalesce(Sum(Coalesce("size", "length")), 0))
    return draft.uploads.count(), usage["total"]


def upload_create(*, draft: Draft, name: str, length: int, fingerprint: str = "", actor: Actor) -> Upload:
    """Announce an upload; refused (413) before any byte is stored when it would break a limit."""
    if length < 0:
        raise UploadError(_("Die Dateigröße fehlt oder ist ungültig."))
    if length == 0:
        raise InvalidFile(_("Die Datei ist leer. Bitte wählen Sie eine andere Datei."))
    if length > settings.UPLOAD_MAX_FILE_SIZE:
        raise FileTooLarge()
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


def _lock(upload: Upload) -> Upload:
    """The upload's row, locked against a second writer (one statement, not compiled per request)."""
    try:
        locked = part_lock(pk=upload.pk)
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise  # the database itself is away: the 503 page, not "busy"
        raise UploadBusy(_("Diese Datei wird gerade in einem anderen Fenster hochgeladen.")) from error
    if locked is None:
        raise UploadNotFound(_("Diese Datei gibt es nicht mehr."))
    if Upload.draft.is_cached(upload) and upload.draft_id == locked.draft_id:
        locked.draft = upload.draft  # its member is the audit row's on completion; else it is loaded then
    return locked


def upload_ensure_live(*, upload: Upload, now: datetime.datetime | None = None) -> None:
    """An unfinished upload past its expiry is deleted here and then; raises UploadExpired (410) for it."""
    if upload_discard_unfinished(upload=upload, expires_at__lte=now or timezone.now()):
        raise UploadExpired(_EXPIRED)


def _store_part(
    locked: Upload, *, offset: int, stream: IO[bytes], content_length: int | None, actor: Actor
) -> tuple[Any, UploadError | None]:
    """The locked upload's next part, in its transaction: the segment, the type check on the first bytes,
    completion with the last. Returns the SHA-256 so far (None when this process had not got it) and the
    UploadError that refuses the file, if any (the caller deletes it after the transaction)."""
    if content_length is not None and offset + content_length > locked.length:
        raise UploadTooLarge(_("Es wurden mehr Daten gesendet als angekündigt."))
    running = running_hash_take(upload=locked)
    segment = segment_write(upload=locked, offset=offset, stream=stream, running=running)
    if segment is not None:
        locked.segments = [*locked.segments, segment]
        locked.offset += segment["size"]
    try:
        if not locked.mime_type and locked.offset >= min(files.SNIFF_BYTES, locked.length):
            with upload_received(upload=locked) as received:
                head = received.read(files.SNIFF_BYTES)
            locked.mime_type = files.type_detect(head=head, name=locked.name)
        if locked.offset == locked.length:
            _complete(locked, actor=actor, running=running)
        else:
            part_save(upload=locked)
    except StorageFailed:
        raise  # rolls the offset back; the upload stays for a retry
    except OSError as error:
        raise storage_failed(error, upload=locked, step="storing the file") from error
    except UploadError as error:
        return running, error
    return running, None


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
    now = timezone.now()
    with transaction.atomic():
        locked = _lock(upload)
        # The locked row says whether the upload expired, so a PATCH spends no query of its own on that: an
        # expired one is deleted under the lock, and refused (410) once that is committed.
        expired = not locked.is_complete and locked.expires_at <= now
        if expired:
            Upload.objects.filter(pk=locked.pk).delete()
        else:
            if offset != locked.offset:
                raise OffsetMismatch(
                    _("Der Upload steht an einer anderen Stelle (%(offset)s Bytes). Bitte fortsetzen.")
                    % {"offset": locked.offset}
                )
            if locked.is_complete:
                return locked
            running, refusal = _store_part(
                locked, offset=offset, stream=stream, content_length=content_length, actor=actor
            )
    if expired:
        locked.discard()
        raise UploadExpired(_EXPIRED)
    if refusal is not None:
        locked.discard()
        Upload.objects.filter(pk=locked.pk).delete()
        raise refusal
    running_hash_keep(upload=locked, running=running)
    if locked.is_complete:
        # Leftovers of failed tries (a segment written whose request then failed) are not the document.
        locked.discard(keep=frozenset(locked.stored_names))
    return locked


def _complete(upload: Upload, *, actor: Actor, running=None) -> None:
    """Check the assembled file; the row becomes complete, and pending, in the caller's transaction.

    Nothing is copied: the received segments are the document as the member sent it. The worker scans and
    disarms it once this transaction commits (uploads.screening), so no web worker waits for clamd.
    """
    with upload_received(upload=upload) as received:
        try:
            checked, mime = files.file_clean(received, mime=upload.mime_type)
        except InvalidFile as error:
            fault = received.raw.fault
            if isinstance(fault, OSError):
                raise fault from error  # the storage was away, the file may be fine: 503, try again
            if isinstance(fault, DecryptionError):
                raise OSError(errno.EIO, "a stored segment cannot be decrypted") from error
            raise
        if running is not None:
            size, sha256 = upload.offset, running.hexdigest()
        else:
            size, sha256 = sha256_of(checked)
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
    _screen_on_commit(upload)


def file_screen_enqueue(*, model: type[Upload | SubmissionDocument], pk: int) -> bool:
    """Hand the file of one upload or document to the worker's check (its model's SCAN_TASK, by name, with the
    id); False with the broker away: beat's rescan hands it over later (the file stays "wird geprüft")."""
    return task_enqueue(name=model.SCAN_TASK, args=(pk,), what=f"check of {model.SCAN_KEY} {pk}")


def _screen_on_commit(row: Upload | SubmissionDocument) -> None:
    """Hand the file to the worker's check once the transaction commits."""
    model, pk = type(row), row.pk
    transaction.on_commit(lambda: file_screen_enqueue(model=model, pk=pk))


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
    locked.discard()


def upload_store(*, draft: Draft, name: str, fileobj: IO[bytes], size: int, actor: Actor) -> Upload:
    """Store a whole file at once (the form without JavaScript) through the same checks as chunked uploads."""
    upload = upload_create(draft=draft, name=name, length=size, actor=actor)
    try:
        return upload_append(upload=upload, offset=0, stream=fileobj, content_length=size, actor=actor)
    except UploadError:
        upload_delete(upload=upload, actor=actor)
        raise
