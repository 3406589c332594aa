"""Writes of the uploads app for the worker's check of a stored file: scan, disarm, release, hold, quarantine.

Kept apart from services/ (which receives and transmits) because it runs only in the Celery worker and its
beat: a file completes in the web request as "pending"; `file_screen` scans what the member sent with clamd,
rewrites it (scanning.disarm, in a child process under memory and CPU limits: scanning.sandbox), scans the
rewritten copy (what staff and exporters receive) and the decoded strings of a PDF, and swaps the stored file for
the copy; or holds it when there is no verdict, quarantines it when clamd finds malware in what was sent or in the
copy, or refuses it (unreadable, too many pixels, too complex, active content left). Nothing reaches staff before
that (ScanState.is_deliverable). A check whose process died twice is refused, never redelivered for ever.
"""

import datetime
import logging
import secrets
import tempfile
from typing import IO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from core import storage as stored_files
from core.crypto import iter_file, save_encrypted
from core.queue import task_enqueue
from scanning import clamd
from scanning.sandbox import Limits, Outcome, disarm_isolated

from .constants import SCAN_WAITING, SCREEN_TASK, ScanStatus, UploadStatus
from .exceptions import UploadError
from .models import QuarantinedFile, SubmissionDocument, Upload
from .services import document_open, upload_open

logger = logging.getLogger(__name__)
MODELS = {"upload": Upload, "document": SubmissionDocument}
# A check that started this often without finishing (its worker process was killed or timed out each time) is
# not run again: the file is refused as too complex.
MAX_ATTEMPTS = 2
ATTEMPT_SECONDS = 24 * 3600


def _member(row):
    return row.draft.member if isinstance(row, Upload) else row.submission.member


def _kind(row) -> str:
    return "upload" if isinstance(row, Upload) else "document"


def _waiting(kind: str):
    """The rows of this kind whose stored file waits for the check; an upload only once all its bytes are in
    (while it arrives its segments are stored under storage_name too, and must not be touched)."""
    rows = MODELS[kind].objects.filter(scan_status__in=SCAN_WAITING).exclude(storage_name="")
    return rows.filter(status=UploadStatus.COMPLETE) if kind == "upload" else rows


def file_waiting(*, kind: str, pk: int) -> Upload | SubmissionDocument | None:
    """The upload ("upload") or transmitted document ("document") with this id if its file waits for the check."""
    related = "draft__member" if kind == "upload" else "submission__member"
    return _waiting(kind).select_related(related).filter(pk=pk).first()


def _spool(row, out: IO[bytes]) -> None:
    chunks = upload_open(upload=row) if isinstance(row, Upload) else document_open(document=row)
    for chunk in chunks:
        out.write(chunk)
    out.flush()
    out.seek(0)


def disarm_limits() -> Limits:
    """The limits of one disarm, from settings (docs/scanning.md states them)."""
    return Limits(
        memory=settings.UPLOAD_DISARM_MEMORY,
        cpu_seconds=settings.UPLOAD_DISARM_CPU_SECONDS,
        wall_seconds=settings.UPLOAD_DISARM_WALL_SECONDS,
        image_budget=settings.UPLOAD_IMAGE_MEMORY_BUDGET,
        pdf={
            "total": settings.UPLOAD_PDF_DECODE_TOTAL,
            "ratio": settings.UPLOAD_PDF_DECODE_RATIO,
            "floor": settings.UPLOAD_PDF_DECODE_FLOOR,
        },
    )


def _finish(kind: str, row, *, status: str, note: str = "", action: str, data: dict | None = None, **fields) -> bool:
    """Record the outcome if the row still waits for it (the member may have deleted or transmitted it)."""
    with transaction.atomic():
        locked = _waiting(kind).select_for_update(of=("self",)).filter(pk=row.pk).first()
        if locked is None or locked.scan_status not in SCAN_WAITING or locked.storage_name != row.storage_name:
            return False
        for name, value in {"scan_status": status, "scan_note": note, "scanned_at": timezone.now(), **fields}.items():
            setattr(locked, name, value)
        locked.save()
        audit_record(
            action=action,
            actor=Actor.system(),
            member=_member(row),
            data={kind: str(row.public_id), "status": status, **(data or {})},
        )
    return True


def _hold(kind: str, row, *, reason: str) -> str:
    # An alert for operators: a held file reaches nobody until the scanner is back and the beat rescans it.
    logger.error("%s %s held: no virus scan verdict (%s)", kind, row.public_id, reason)
    if row.scan_status != ScanStatus.HELD or row.scan_note != reason:
        _finish(kind, row, status=ScanStatus.HELD, note=reason, action=AuditAction.DOCUMENT_HELD, data={"why": reason})
    return ScanStatus.HELD


def _quarantine(kind: str, row, *, signature: str) -> str:
    logger.error("%s %s: malware found, quarantined", kind, row.public_id)
    with transaction.atomic():
        moved = _finish(
            kind, row, status=ScanStatus.INFECTED, note="malware", action=AuditAction.DOCUMENT_QUARANTINED,
            storage_name="", segments=[],
        )  # fmt: skip
        if moved:
            QuarantinedFile.objects.create(
                public_id=row.public_id,
                member=_member(row),
                name=row.name,
                mime_type=row.mime_type,
                size=row.size or 0,
                sha256=row.sent_sha256 or row.sha256,
                signature=signature[:200],
                storage_name=row.storage_name,
                segments=row.segments,
                delete_after=timezone.now() + datetime.timedelta(days=settings.QUARANTINE_RETENTION_DAYS),
            )
    return ScanStatus.INFECTED


def _delete(name: str, segments: list[dict] | None = None) -> None:
    """Delete a stored document: its encrypted segments under `name`, or the one file `name` (disarmed copies)."""
    names = [f"{name}{segment['key']}" for segment in segments] if segments else [name]
    try:
        for each in names:
            stored_files.delete(storages["default"], each)
    except OSError:
        logger.warning("removing a replaced stored file failed; the orphan purge removes it later")


def _refuse(kind: str, row, *, reason: str, data: dict | None = None) -> str:
    refused = _finish(
        kind, row, status=ScanStatus.REFUSED, note=reason, action=AuditAction.DOCUMENT_REFUSED,
        data={"why": reason, **(data or {})}, storage_name="", segments=[],
    )  # fmt: skip
    if refused:
        transaction.on_commit(lambda: _delete(row.storage_name, row.segments))
    return ScanStatus.REFUSED


def _attempt_key(row) -> str:
    return f"uploads:screen:{_kind(row)}:{row.pk}:{row.storage_name}"


def _scan(src: IO[bytes]) -> clamd.Verdict:
    src.seek(0)
    return clamd.scan_stream(src)


def file_screen(*, row: Upload | SubmissionDocument) -> str:
    """Scan and disarm the stored file of one upload or document; returns its new scan status. Safe to run twice:
    a row no longer waiting (checked, removed, or an upload not complete yet) is left as it is."""
    kind = _kind(row)
    fresh = file_waiting(kind=kind, pk=row.pk)
    if fresh is None:
        status = MODELS[kind].objects.filter(pk=row.pk).values_list("scan_status", flat=True).first()
        return status or "gone"
    row = fresh
    key = _attempt_key(row)
    cache.add(key, 0, ATTEMPT_SECONDS)
    attempts = cache.incr(key)
    if attempts > MAX_ATTEMPTS:
        # The two runs before never came back: their worker process was killed (memory, time limit) with this file.
        logger.error("%s %s refused: its check did not finish %s times", kind, row.public_id, MAX_ATTEMPTS)
        status = _refuse(kind, row, reason="too_complex", data={"attempts": MAX_ATTEMPTS})
    else:
        try:
            status = _screen(kind, row)
        except SoftTimeLimitExceeded:
            raise  # timed out: counts, like a worker process killed with the file
        except Exception:
            cache.delete(key)  # an ordinary error (database, storage) is no verdict on the file
            raise
    cache.delete(key)
    return status


def _screen(kind: str, row) -> str:
    with tempfile.TemporaryFile() as plain, tempfile.TemporaryFile() as safe, tempfile.TemporaryFile() as strings:
        try:
            _spool(row, plain)
        except UploadError:
            return _hold(kind, row, reason="unreadable")
        scanned = clamd.scanner_configured()
        if scanned:
            try:
                verdict = _scan(plain)
            except clamd.ScannerUnavailable as error:
                return _hold(kind, row, reason=error.reason)
            if verdict.infected:
                return _quarantine(kind, row, signature=verdict.signature)
        elif settings.CLAMD_REQUIRED:
            return _hold(kind, row, reason="not_configured")
        outcome: Outcome = disarm_isolated(
            src=plain, out=safe, strings=strings, mime=row.mime_type, limits=disarm_limits()
        )
        logger.info("%s %s disarmed: peak RSS %d MiB", kind, row.public_id, outcome.peak_rss // 2**20)
        if outcome.refused:
            logger.warning("%s %s refused (%s): %s", kind, row.public_id, outcome.refused, outcome.detail)
            return _refuse(kind, row, reason=outcome.refused, data={"peak_rss": outcome.peak_rss})
        if scanned:
            # What is delivered is scanned too: the copy (its streams now in filters clamd decodes) and, for a
            # PDF, what a byte scan of it cannot see: its strings and inline images, decoded.
            try:
                for part in (safe, strings):
                    if part.seek(0, 2) == 0:
                        continue  # an image has no strings
                    verdict = _scan(part)
                    if verdict.infected:
                        return _quarantine(kind, row, signature=verdict.signature)
            except clamd.ScannerUnavailable as error:
                return _hold(kind, row, reason=error.reason)
        safe.seek(0)
        stored = save_encrypted(
            storage=storages["default"],
            # A name of its own per run: a second run racing this one never overwrites or deletes the live copy.
            name=f"documents/{row.public_id}.{secrets.token_hex(6)}.safe",
            chunks=iter_file(safe),
            aad=row.aad,
        )
    mime = outcome.mime
    status = ScanStatus.CLEAN if scanned else ScanStatus.UNSCANNED
    old, old_segments = row.storage_name, row.segments
    done = _finish(
        kind, row, status=status, action=AuditAction.DOCUMENT_CLEARED, data={"scanned": scanned},
        storage_name=stored.name, segments=[], sha256=stored.sha256, size=stored.size, mime_type=mime,
    )  # fmt: skip
    if not done:
        _delete(stored.name)  # deleted or transmitted meanwhile: the next run (or nobody) needs it
        return "gone"
    if old != stored.name:
        _delete(old, old_segments)
    return status


def files_rescan(*, older_than_minutes: int = 2) -> int:
    """Hand every held file, and every pending one the worker has not reached, to the worker again."""
    cutoff = timezone.now() - datetime.timedelta(minutes=older_than_minutes)
    count = 0
    for kind in MODELS:
        waiting = _waiting(kind)
        if kind == "upload":
            waiting = waiting.filter(updated_at__lt=cutoff)
        for pk in waiting.values_list("pk", flat=True):
            count += task_enqueue(name=SCREEN_TASK, args=(kind, pk), what=f"check of {kind} {pk}")
    return count


def quarantine_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete quarantined files past their retention; returns the count."""
    count = 0
    for item in QuarantinedFile.objects.filter(delete_after__lte=now or timezone.now()):
        _delete(item.storage_name, item.segments)
        item.delete()
        count += 1
    return count
