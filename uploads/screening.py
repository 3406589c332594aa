"""Writes of the uploads app for the worker's check of a stored file: scan, disarm, release, hold, quarantine.

Kept apart from services/ (which receives and transmits) because it runs only in the Celery worker and its
beat: a file completes in the web request as "pending"; `file_screen` scans what the member sent with clamd,
rewrites it (scanning.disarm, in a child process under memory and CPU limits: scanning.sandbox), scans the
rewritten copy (what staff and exporters receive) and the decoded strings of a PDF, and swaps the stored file for
the copy; or holds it when there is no verdict, quarantines it when clamd finds malware in what was sent or in the
copy, or refuses it (unreadable, too many pixels, too complex, active content left). Nothing reaches staff before
that (ScanState.is_deliverable). A check whose process died twice is refused, never redelivered for ever.
A document made of photos has no file of its own until its check assembles one PDF from its pages' checked
copies (`_assemble`, in the same sandbox under the same limits; docs/scanning.md "Photos become one PDF").
"""

import contextlib
import dataclasses
import datetime
import logging
import secrets
import tempfile
from typing import IO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from core.crypto import DecryptionError, iter_file, save_encrypted
from core.storage import delete_quietly, errno_name, private_storage
from scanning import clamd
from scanning.sandbox import Limits, Outcome, assemble_isolated, disarm_isolated

from .constants import SCAN_WAITING, ScanStatus
from .exceptions import UploadError
from .models import DocumentPage, QuarantinedFile, SubmissionDocument, Upload
from .services import document_open, document_render_enqueue, file_screen_enqueue, upload_open

logger = logging.getLogger(__name__)
# The rows whose stored file the worker checks; each states what the check needs of it (ScanState).
SCREENED: tuple[type[Upload | SubmissionDocument], ...] = (Upload, SubmissionDocument)
# A check that started this often without finishing (its worker process was killed or timed out each time) is
# not run again: the file is refused as too complex.
MAX_ATTEMPTS = 2
ATTEMPT_SECONDS = 24 * 3600


@dataclasses.dataclass(frozen=True)
class Finding:
    """What one check concludes for a row: its new scan status and note, the audit row's action and extra data,
    and what else of the row changes (where its stored file now is, the copy's checksum, size and type)."""

    status: str
    action: str
    note: str = ""
    data: dict = dataclasses.field(default_factory=dict)
    fields: dict = dataclasses.field(default_factory=dict)


def file_waiting(*, model: type[Upload | SubmissionDocument], pk: int) -> Upload | SubmissionDocument | None:
    """The upload or transmitted document with this id if its file waits for the check (model.scan_waiting)."""
    return model.scan_waiting().select_related(model.MEMBER_PATH).filter(pk=pk).first()


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


def _finish(row: Upload | SubmissionDocument, finding: Finding) -> bool:
    """Record the finding if the row still waits for it (the member may have deleted or transmitted it)."""
    with transaction.atomic():
        locked = type(row).scan_waiting().select_for_update(of=("self",)).filter(pk=row.pk).first()
        if locked is None or locked.scan_status not in SCAN_WAITING or locked.storage_name != row.storage_name:
            return False
        changes = {"scan_status": finding.status, "scan_note": finding.note, "scanned_at": timezone.now()}
        for name, value in {**changes, **finding.fields}.items():
            setattr(locked, name, value)
        locked.save()
        audit_record(
            action=finding.action,
            actor=Actor.system(),
            member=row.member,
            data={row.SCAN_KEY: str(row.public_id), "status": finding.status, **finding.data},
        )
    return True


def _gone() -> dict:
    """Where the file is once it is gone from the member's storage (refused, or moved to the quarantine)."""
    return {"storage_name": "", "segments": []}


def _hold(row, *, reason: str) -> str:
    # An alert for operators: a held file reaches nobody until the scanner is back and the beat rescans it.
    logger.error("%s %s held: no virus scan verdict (%s)", row.SCAN_KEY, row.public_id, reason)
    if row.scan_status != ScanStatus.HELD or row.scan_note != reason:
        _finish(row, Finding(ScanStatus.HELD, AuditAction.DOCUMENT_HELD, note=reason, data={"why": reason}))
    return ScanStatus.HELD


def _quarantine(row, *, signature: str) -> str:
    logger.error("%s %s: malware found, quarantined", row.SCAN_KEY, row.public_id)
    with transaction.atomic():
        moved = _finish(
            row, Finding(ScanStatus.INFECTED, AuditAction.DOCUMENT_QUARANTINED, note="malware", fields=_gone())
        )
        if moved:
            # The member's file as sent (its segments, its checksum), never a disarmed copy.
            sent = {**row.shared_with(QuarantinedFile), "sha256": row.sent_sha256 or row.sha256, "size": row.size or 0}
            QuarantinedFile.objects.create(
                **sent,
                member=row.member,
                signature=signature[:200],
                delete_after=timezone.now() + datetime.timedelta(days=settings.QUARANTINE_RETENTION_DAYS),
            )
    return ScanStatus.INFECTED


def _refuse(row, *, reason: str, data: dict) -> str:
    finding = Finding(
        ScanStatus.REFUSED, AuditAction.DOCUMENT_REFUSED, note=reason, data={"why": reason, **data}, fields=_gone()
    )
    if _finish(row, finding):
        transaction.on_commit(row.discard)  # `row` still names the stored file it had
    return ScanStatus.REFUSED


def _attempt_key(row) -> str:
    return f"uploads:screen:{row.SCAN_KEY}:{row.pk}:{row.storage_name}"


def _scan(src: IO[bytes]) -> clamd.Verdict:
    src.seek(0)
    return clamd.scan_stream(src)


def file_screen(*, row: Upload | SubmissionDocument) -> str:
    """Scan and disarm the stored file of one upload or document; returns its new scan status. Safe to run twice:
    a row no longer waiting (checked, removed, or an upload not complete yet) is left as it is."""
    model = type(row)
    fresh = file_waiting(model=model, pk=row.pk)
    if fresh is None:
        status = model.objects.filter(pk=row.pk).values_list("scan_status", flat=True).first()
        return status or "gone"
    row = fresh
    key = _attempt_key(row)
    cache.add(key, 0, ATTEMPT_SECONDS)
    attempts = cache.incr(key)
    if attempts > MAX_ATTEMPTS:
        # The two runs before never came back: their worker process was killed (memory, time limit) with this file.
        logger.error("%s %s refused: its check did not finish %s times", row.SCAN_KEY, row.public_id, MAX_ATTEMPTS)
        status = _refuse(row, reason="too_complex", data={"attempts": MAX_ATTEMPTS})
    else:
        try:
            status = _screen(row)
        except SoftTimeLimitExceeded:
            raise  # timed out: counts, like a worker process killed with the file
        except Exception:
            cache.delete(key)  # an ordinary error (database, storage) is no verdict on the file
            raise
    cache.delete(key)
    return status


def _screen(row: Upload | SubmissionDocument) -> str:
    if isinstance(row, SubmissionDocument) and not row.storage_name:
        return _assemble(row)
    with tempfile.TemporaryFile() as plain, tempfile.TemporaryFile() as safe, tempfile.TemporaryFile() as strings:
        try:
            _spool(row, plain)
        except UploadError:
            return _hold(row, reason="unreadable")
        scanned = clamd.scanner_configured()
        if scanned:
            try:
                verdict = _scan(plain)
            except clamd.ScannerUnavailable as error:
                return _hold(row, reason=error.reason)
            if verdict.infected:
                return _quarantine(row, signature=verdict.signature)
        elif settings.CLAMD_REQUIRED:
            return _hold(row, reason="not_configured")
        outcome: Outcome = disarm_isolated(
            src=plain, out=safe, strings=strings, mime=row.mime_type, limits=disarm_limits()
        )
        logger.info("%s %s disarmed: peak RSS %d MiB", row.SCAN_KEY, row.public_id, outcome.peak_rss // 2**20)
        if outcome.refused:
            logger.warning("%s %s refused (%s): %s", row.SCAN_KEY, row.public_id, outcome.refused, outcome.detail)
            return _refuse(row, reason=outcome.refused, data={"peak_rss": outcome.peak_rss})
        if scanned:
            # What is delivered is scanned too: the copy (its streams now in filters clamd decodes) and, for a
            # PDF, what a byte scan of it cannot see: its strings and inline images, decoded.
            try:
                for part in (safe, strings):
                    if part.seek(0, 2) == 0:
                        continue  # an image has no strings
                    verdict = _scan(part)
                    if verdict.infected:
                        return _quarantine(row, signature=verdict.signature)
            except clamd.ScannerUnavailable as error:
                return _hold(row, reason=error.reason)
        copy = _store_copy(row, safe)
    status = ScanStatus.CLEAN if scanned else ScanStatus.UNSCANNED
    finding = Finding(
        status, AuditAction.DOCUMENT_CLEARED, data={"scanned": scanned}, fields={**copy, "mime_type": outcome.mime}
    )
    if not _finish(row, finding):
        # Deleted or transmitted meanwhile: the next run (or nobody) needs the copy.
        delete_quietly([copy["storage_name"]], what=f"{row.SCAN_KEY} {row.public_id}")
        return "gone"
    if row.storage_name != copy["storage_name"]:
        row.discard()  # `row` still names what the member sent
    if isinstance(row, SubmissionDocument):
        document_render_enqueue(document_id=row.pk)  # deliverable now: the case worker's viewer gets its pages
    return status


def _store_copy(row, src: IO[bytes]) -> dict:
    """Store the delivered copy encrypted for the row, under a name of its own per run (a second run racing
    this one never overwrites or deletes the live copy); the row's fields that change."""
    src.seek(0)
    stored = save_encrypted(
        storage=private_storage(),
        name=f"documents/{row.public_id}.{secrets.token_hex(6)}.safe",
        chunks=iter_file(src),
        aad=row.aad,
    )
    return {"storage_name": stored.name, "segments": [], "sha256": stored.sha256, "size": stored.size}


def _assemble(document: SubmissionDocument) -> str:
    """A document made of photos: its pages' checked copies into one PDF in the sandbox's child (the disarm's
    limits), scanned like any delivered copy, stored as the document's file; the pages' copies are deleted then.
    A page that fails refuses the whole document, its note naming the page ("page 3: image_too_large"); nothing
    of the PDF stays behind."""
    pages = list(document.pages.order_by("number"))
    with contextlib.ExitStack() as stack:
        spooled = []
        for page in pages:
            plain = stack.enter_context(tempfile.TemporaryFile())
            if not _page_spool(page, plain):
                return _hold(document, reason="unreadable")
            spooled.append((plain, page.rotation))
        safe = stack.enter_context(tempfile.TemporaryFile())
        outcome = assemble_isolated(pages=spooled, out=safe, limits=disarm_limits())
        logger.info("document %s assembled: peak RSS %d MiB", document.public_id, outcome.peak_rss // 2**20)
        if outcome.refused:
            note = f"page {outcome.page}: {outcome.refused}" if outcome.page else outcome.refused
            logger.warning("document %s refused (%s): %s", document.public_id, note, outcome.detail)
            status = _refuse(document, reason=note, data={"peak_rss": outcome.peak_rss, "page": outcome.page})
            for page in pages:
                transaction.on_commit(page.discard)  # nobody gets the document: nor its pages
            return status
        scanned = clamd.scanner_configured()
        if scanned:
            try:
                verdict = _scan(safe)
            except clamd.ScannerUnavailable as error:
                return _hold(document, reason=error.reason)
            if verdict.infected:
                # Pixels re-encoded by us cannot carry what clamd finds; if it does, nobody gets the document.
                logger.error("document %s: the assembled PDF was flagged (%s)", document.public_id, verdict.signature)
                return _refuse(document, reason="malware", data={})
        elif settings.CLAMD_REQUIRED:
            return _hold(document, reason="not_configured")
        copy = _store_copy(document, safe)
    status = ScanStatus.CLEAN if scanned else ScanStatus.UNSCANNED
    finding = Finding(
        status,
        AuditAction.DOCUMENT_CLEARED,
        data={"scanned": scanned, "pages": len(pages)},
        fields={**copy, "mime_type": outcome.mime},
    )
    if not _finish(document, finding):
        delete_quietly([copy["storage_name"]], what=f"document {document.public_id}")
        return "gone"
    # The PDF is what is delivered: the pages' copies go; their checksums stay for the receipt.
    for page in pages:
        page.discard()
    DocumentPage.objects.filter(pk__in=[page.pk for page in pages]).update(storage_name="", segments=[])
    document_render_enqueue(document_id=document.pk)  # deliverable now: the case worker's viewer gets its pages
    return status


def _page_spool(page: DocumentPage, out: IO[bytes]) -> bool:
    """The page's checked copy, decrypted, into `out`; False (logged) when it cannot be read."""
    try:
        for chunk in page.open():
            out.write(chunk)
    except OSError as error:
        logger.warning("page %s: reading the stored file failed with %s", page.public_id, errno_name(error))
        return False
    except DecryptionError:
        logger.error("page %s: the stored file cannot be decrypted", page.public_id)
        return False
    out.flush()
    return True


def files_rescan(*, older_than_minutes: int = 2) -> int:
    """Hand every held file, and every pending one the worker has not reached, to the worker again."""
    cutoff = timezone.now() - datetime.timedelta(minutes=older_than_minutes)
    count = 0
    for model in SCREENED:
        for pk in model.scan_overdue(before=cutoff).values_list("pk", flat=True):
            count += file_screen_enqueue(model=model, pk=pk)
    return count


def quarantine_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete quarantined files past their retention; returns the count."""
    count = 0
    for item in QuarantinedFile.objects.filter(delete_after__lte=now or timezone.now()):
        item.discard()
        item.delete()
        count += 1
    return count
