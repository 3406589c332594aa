"""Writes for the letters app: request, render, cancel, collect, re-release and purge PIN letters."""

import csv
import datetime
import errno
import hashlib
import io
import logging
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record, audit_record_many
from core.crypto import SEGMENT_SIZE, DecryptionError, read_decrypted, save_encrypted
from core.queue import task_enqueue
from core.streams import SPOOL_BYTES
from members.models import Member
from pins.constants import EndReason, PinStatus
from pins.services import pin_invalidate, pin_is_usable, pin_issue

from .constants import BatchChannel, LetterStatus
from .exceptions import LetterStateError
from .layered import render_campaign_letters
from .models import LetterRequest, LetterStatusChange, PrintBatch
from .pdfmerge import PdfConcatenator
from .rendering import LetterContent, render_letter
from .selectors import print_queue

logger = logging.getLogger(__name__)


def _storage():
    return storages["default"]


def _history(*, letter: LetterRequest, status: str, by: AbstractBaseUser | None = None, note: str = "") -> None:
    LetterStatusChange.objects.create(letter=letter, status=status, by=by, note=note[:200])


RENDER_TASK = "letters.tasks.render_letter_task"


def _enqueue(letter_id: int) -> None:
    """Hand a request to the worker. A broker that is down loses nothing: the beat re-enqueues waiting requests."""
    task_enqueue(name=RENDER_TASK, args=(letter_id,), what=f"letter {letter_id}")


def letter_request_create(*, member: Member, purpose: str, actor: Actor) -> LetterRequest:
    """Ask for a PIN letter, in the caller's transaction; the worker renders it once that transaction commits."""
    now = timezone.now()
    with transaction.atomic():
        letter = LetterRequest.objects.create(
            member=member, purpose=purpose.strip()[:200], requested_by=actor.user, created_at=now, enqueued_at=now
        )
        _history(letter=letter, status=LetterStatus.REQUESTED, by=actor.user)
        audit_record(
            action=AuditAction.LETTER_REQUESTED,
            actor=actor,
            member=member,
            reason=letter.purpose,
            data={"letter_id": letter.pk},
        )
        letter_id = letter.pk
        transaction.on_commit(lambda: _enqueue(letter_id))
    return letter


def _content(*, letter: LetterRequest, pin_display: str, valid_until: datetime.datetime) -> LetterContent:
    member = letter.member
    return LetterContent(
        reference=letter.reference,
        language=member.language or settings.LANGUAGE_CODE,
        full_name=member.full_name,
        address_lines=member.address_lines,
        purpose=letter.purpose,
        valid_until=timezone.localdate(valid_until),
        letter_date=timezone.localdate(),
        pin_display=pin_display,
        case_title=letter.case_title,
        kvnr=member.kvnr,
    )


def letter_render(*, request_id: int) -> None:
    """The worker's step: create the PIN, render the letter, store it encrypted and mark it rendered, atomically.

    The row is locked first and nothing happens unless it is still "requested", so a second run (a duplicate
    message, a redelivery after a killed worker) finds the work done. A run that dies half-way commits nothing:
    its PIN row rolls back, and its file, written under the letter's fixed name, is overwritten by the retry.
    """
    LetterRequest.objects.filter(pk=request_id, status=LetterStatus.REQUESTED).update(attempts=F("attempts") + 1)
    with transaction.atomic():
        letter = (
            LetterRequest.objects.select_for_update(of=("self",)).select_related("member").filter(pk=request_id).first()
        )
        if letter is None or letter.status != LetterStatus.REQUESTED:
            return
        issued = pin_issue(member=letter.member, purpose=letter.purpose, actor=Actor.system())
        rendered = render_letter(
            content=_content(letter=letter, pin_display=issued.display, valid_until=issued.pin.expires_at)
        )
        stored = save_encrypted(storage=_storage(), name=letter.storage_name, chunks=[rendered.pdf], aad=letter.aad)
        letter.status = LetterStatus.RENDERED
        letter.pin = issued.pin
        letter.pdf_name = stored.name
        letter.pdf_sha256 = stored.sha256
        letter.pages = rendered.pages
        letter.rendered_at = timezone.now()
        letter.failure_reason = ""
        letter.save(update_fields=["status", "pin", "pdf_name", "pdf_sha256", "pages", "rendered_at", "failure_reason"])
        _history(letter=letter, status=LetterStatus.RENDERED)
        audit_record(
            action=AuditAction.LETTER_RENDERED,
            actor=Actor.system(),
            member=letter.member,
            data={"letter_id": letter.pk, "pin_id": letter.pin_id, "pages": rendered.pages},
        )


def _shortened(*, pin, validity_days: int) -> datetime.datetime:
    """The PIN's end moved earlier by whole local days when a campaign gives less than PIN_VALIDITY_DAYS.

    pins decides what the end of a PIN's last day is; this keeps that rule and only moves the day (wall-clock
    arithmetic in the local zone, so a daylight-saving change in between does not move the time of day).
    """
    days = settings.PIN_VALIDITY_DAYS - validity_days
    if days <= 0:
        return pin.expires_at
    expires_at = timezone.localtime(pin.expires_at) - datetime.timedelta(days=days)
    type(pin).objects.filter(pk=pin.pk).update(expires_at=expires_at)
    pin.expires_at = expires_at
    return expires_at


def letters_create_rendered(
    *, members: list[Member], purpose: str, case_title: str, template: str, validity_days: int, actor: Actor
) -> list[LetterRequest]:
    """A campaign's letters for `members`: created, PINs issued, rendered together and stored encrypted, atomically.

    Nothing of them exists unless all of them do; the caller links them to its campaign in the same transaction.
    Rendering several letters at once shares WeasyPrint's per-document cost (letters.layered).
    """
    now = timezone.now()
    with transaction.atomic():
        letters = LetterRequest.objects.bulk_create(
            LetterRequest(
                member=member,
                purpose=purpose[:200],
                case_title=case_title[:200],
                requested_by=actor.user,
                created_at=now,
                enqueued_at=now,
            )
            for member in members
        )
        contents = []
        for letter, member in zip(letters, members, strict=True):
            letter.member = member
            issued = pin_issue(member=member, purpose=purpose, actor=actor)
            letter.pin = issued.pin
            expires_at = _shortened(pin=issued.pin, validity_days=validity_days)
            contents.append(_content(letter=letter, pin_display=issued.display, valid_until=expires_at))
        rendered = render_campaign_letters(contents=contents, template=template)
        del contents  # the PINs' plaintext: not kept longer than the rendering needs it
        history = []
        for letter, result in zip(letters, rendered, strict=True):
            stored = save_encrypted(storage=_storage(), name=letter.storage_name, chunks=[result.pdf], aad=letter.aad)
            letter.status = LetterStatus.RENDERED
            letter.pdf_name = stored.name
            letter.pdf_sha256 = stored.sha256
            letter.pages = result.pages
            letter.rendered_at = timezone.now()
            history += [
                LetterStatusChange(letter=letter, status=LetterStatus.REQUESTED, at=now, by=actor.user),
                LetterStatusChange(
                    letter=letter, status=LetterStatus.RENDERED, at=letter.rendered_at, note=result.method
                ),
            ]
        LetterRequest.objects.bulk_update(letters, ["status", "pin", "pdf_name", "pdf_sha256", "pages", "rendered_at"])
        LetterStatusChange.objects.bulk_create(history)
        audit_record_many(
            action=AuditAction.LETTER_RENDERED,
            actor=actor,
            entries=[(letter.member_id, {"letter_id": letter.pk, "pin_id": letter.pin_id}) for letter in letters],
            reason=purpose,
        )
    return letters


def letter_mark_failed(*, request_id: int, reason: str) -> bool:
    """Give up on a request the worker could not render; staff see the reason. False if it was no longer waiting."""
    with transaction.atomic():
        letter = (
            LetterRequest.objects.select_for_update(of=("self",)).select_related("member").filter(pk=request_id).first()
        )
        if letter is None or letter.status != LetterStatus.REQUESTED:
            return False
        letter.status = LetterStatus.FAILED
        letter.failure_reason = reason[:200]
        letter.save(update_fields=["status", "failure_reason"])
        _history(letter=letter, status=LetterStatus.FAILED, note=reason)
        audit_record(
            action=AuditAction.LETTER_FAILED,
            actor=Actor.system(),
            member=letter.member,
            reason=reason,
            data={"letter_id": letter.pk, "attempts": letter.attempts},
        )
    logger.error("letter %s failed: %s", request_id, reason)
    return True


def letter_retry(*, letter: LetterRequest, actor: Actor) -> None:
    """Send a failed letter to the worker again (after the cause was fixed)."""
    with transaction.atomic():
        letter = LetterRequest.objects.select_for_update(of=("self",)).select_related("member").get(pk=letter.pk)
        if letter.status != LetterStatus.FAILED:
            raise LetterStateError(_("Nur ein fehlgeschlagener Brief kann erneut erstellt werden."))
        letter.status = LetterStatus.REQUESTED
        letter.failure_reason = ""
        letter.attempts = 0
        letter.enqueued_at = timezone.now()
        letter.save(update_fields=["status", "failure_reason", "attempts", "enqueued_at"])
        _history(letter=letter, status=LetterStatus.REQUESTED, by=actor.user, note="erneut angestoßen")
        audit_record(
            action=AuditAction.LETTER_REQUESTED,
            actor=actor,
            member=letter.member,
            reason="retry after failure",
            data={"letter_id": letter.pk},
        )
        letter_id = letter.pk
        transaction.on_commit(lambda: _enqueue(letter_id))


def _delete_pdf(letter: LetterRequest) -> None:
    """Remove the letter's file once the transaction commits (a rollback must not lose a PDF still needed)."""
    storage, name, letter_id = _storage(), letter.storage_name, letter.pk

    def delete() -> None:
        try:
            if storage.exists(name):
                storage.delete(name)
        except OSError as error:
            # The change is committed; the encrypted file stays behind (a read-only disk, say) and needs a hand.
            logger.error(
                "letter %s: its PDF %s could not be deleted (%s); delete it by hand",
                letter_id,
                name,
                errno.errorcode.get(error.errno or 0, "?"),
            )

    transaction.on_commit(delete)


def letter_cancel(*, letter: LetterRequest, actor: Actor) -> None:
    """Cancel a letter not yet collected by the print shop; its PIN stops working and its PDF is deleted."""
    with transaction.atomic():
        letter = LetterRequest.objects.select_for_update(of=("self",)).select_related("member").get(pk=letter.pk)
        if letter.status == LetterStatus.COLLECTED:
            raise LetterStateError(
                _("Der Brief wurde schon von der Druckerei abgeholt und kann nicht mehr storniert werden.")
            )
        if letter.status == LetterStatus.CANCELLED:
            raise LetterStateError(_("Der Brief ist bereits storniert."))
        now = timezone.now()
        if letter.pin_id:
            pin_invalidate(pin=letter.pin, reason=EndReason.CANCELLED, actor=actor)
        letter.status = LetterStatus.CANCELLED
        update_fields = ["status"]
        if letter.pdf_name:
            letter.pdf_name = ""
            letter.pdf_deleted_at = now
            update_fields += ["pdf_name", "pdf_deleted_at"]
        letter.save(update_fields=update_fields)
        _delete_pdf(letter)
        _history(letter=letter, status=LetterStatus.CANCELLED, by=actor.user)
        audit_record(
            action=AuditAction.LETTER_CANCELLED,
            actor=actor,
            member=letter.member,
            data={"letter_id": letter.pk, "pin_id": letter.pin_id},
        )


def letter_requeue_stale(*, now: datetime.datetime | None = None, limit: int = 1000) -> int:
    """Hand requests that still wait after LETTER_REQUEUE_AFTER_MINUTES to the worker again; returns the count.

    Rows a worker is rendering right now are locked and skipped. A request the worker has already tried
    LETTER_MAX_ATTEMPTS times (it died each time, say) is marked failed instead of being sent round again.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.LETTER_REQUEUE_AFTER_MINUTES)
    waiting = LetterRequest.objects.filter(status=LetterStatus.REQUESTED, enqueued_at__lt=cutoff)
    exhausted = list(waiting.filter(attempts__gte=settings.LETTER_MAX_ATTEMPTS).values_list("pk", flat=True))
    for pk in exhausted:
        letter_mark_failed(request_id=pk, reason=f"Worker gab nach {settings.LETTER_MAX_ATTEMPTS} Versuchen auf")
    with transaction.atomic():
        ids = list(
            waiting.filter(attempts__lt=settings.LETTER_MAX_ATTEMPTS)
            .select_for_update(skip_locked=True)
            .order_by("enqueued_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        LetterRequest.objects.filter(pk__in=ids).update(enqueued_at=now)
        transaction.on_commit(lambda: [_enqueue(pk) for pk in ids])
    if ids:
        logger.info("re-enqueued %d waiting letter requests", len(ids))
    return len(ids)


@dataclass(frozen=True)
class ManifestRow:
    position: int
    letter_id: int
    reference: str
    first_page: int
    pages: int
    sha256: str

    def as_list(self) -> list:
        return [self.position, self.letter_id, self.reference, self.first_page, self.pages, self.sha256]


MANIFEST_HEADER = ["position", "letter_id", "reference", "first_page", "pages", "sha256"]


def _letter_pdf(letter: LetterRequest) -> bytes:
    """The letter's plaintext PDF; a wrong key, a moved file or a changed file fails loudly."""
    pdf = read_decrypted(storage=_storage(), name=letter.pdf_name, aad=letter.aad)
    if hashlib.sha256(pdf).hexdigest() != letter.pdf_sha256:
        raise DecryptionError(f"letter {letter.pk}: PDF does not match its recorded SHA-256")
    return pdf


def _write_batch(*, letters: list[LetterRequest], pdf_out: IO[bytes], manifest_out: IO[str]) -> list[ManifestRow]:
    merged = PdfConcatenator(pdf_out)
    rows: list[ManifestRow] = []
    page = 1
    for position, letter in enumerate(letters, start=1):
        pages = merged.append(io.BytesIO(_letter_pdf(letter)))
        rows.append(ManifestRow(position, letter.pk, letter.reference, page, pages, letter.pdf_sha256))
        page += pages
    merged.close()
    manifest = csv.writer(manifest_out, lineterminator="\n")
    manifest.writerow(MANIFEST_HEADER)
    manifest.writerows(row.as_list() for row in rows)
    return rows


def batch_collect(
    *,
    user: AbstractBaseUser | None,
    pdf_out: IO[bytes],
    manifest_out: IO[str],
    limit: int = 500,
    channel: str = BatchChannel.DOWNLOAD,
) -> PrintBatch | None:
    """Take up to `limit` letters ready for print: write their merged PDF and manifest, mark them collected.

    Letters are handed out once: they are locked (two collectors get different letters) and leave the queue in
    the same transaction that writes the outputs, so an output that fails to write collects nothing. `user` is
    None for the automated folder drop. Returns None when nothing is ready.
    """
    with transaction.atomic():
        # The queue's conditions are part of the locking query, so a letter another collection took meanwhile is
        # either still locked (skipped) or already committed as collected (not selected).
        letters = list(print_queue().select_for_update(of=("self",), skip_locked=True)[:limit])
        if not letters:
            return None
        batch = PrintBatch(channel=channel)
        _collect_into(batch=batch, letters=letters, user=user, pdf_out=pdf_out, manifest_out=manifest_out)
    return batch


def _collect_into(
    *, batch: PrintBatch, letters: list[LetterRequest], user: AbstractBaseUser | None, pdf_out, manifest_out
) -> None:
    """Write the letters' merged PDF and manifest and mark them collected in `batch` (in the caller's transaction)."""
    actor = Actor.staff(user) if user is not None else Actor.system()
    rows = _write_batch(letters=letters, pdf_out=pdf_out, manifest_out=manifest_out)
    now = timezone.now()
    batch.collected_at = now
    batch.collected_by = user
    batch.letter_count = len(rows)
    batch.page_count = sum(row.pages for row in rows)
    batch.manifest = [dict(zip(MANIFEST_HEADER, row.as_list(), strict=True)) for row in rows]
    batch.save()
    ids = [letter.pk for letter in letters]
    LetterRequest.objects.filter(pk__in=ids).update(
        status=LetterStatus.COLLECTED, collected_at=now, collected_by=user, batch=batch
    )
    LetterStatusChange.objects.bulk_create(
        LetterStatusChange(letter=letter, status=LetterStatus.COLLECTED, at=now, by=user, note=batch.reference)
        for letter in letters
    )
    audit_record_many(
        action=AuditAction.LETTER_COLLECTED,
        actor=actor,
        entries=[(letter.member_id, {"letter_id": letter.pk, "batch_id": batch.pk}) for letter in letters],
        reason=batch.reference,
    )


def batch_prepare(*, letter_ids: list[int], label: str) -> PrintBatch | None:
    """Put rendered letters not yet in a batch into a new batch that waits for the print shop (campaigns).

    Each letter lands in exactly one batch: the letters are locked and only those still without a batch are taken.
    """
    with transaction.atomic():
        letters = list(
            LetterRequest.objects.select_for_update(of=("self",))
            .filter(pk__in=letter_ids, status=LetterStatus.RENDERED, batch__isnull=True)
            .order_by("id")
        )
        if not letters:
            return None
        batch = PrintBatch.objects.create(
            collected_at=None, prepared_at=timezone.now(), label=label[:200], letter_count=len(letters)
        )
        LetterRequest.objects.filter(pk__in=[letter.pk for letter in letters]).update(batch=batch)
    return batch


def batch_collect_prepared(
    *, batch_id: int, user: AbstractBaseUser | None, pdf_out: IO[bytes], manifest_out: IO[str]
) -> PrintBatch:
    """Collect a batch made ahead: its letters still to print (cancelled ones are left out), once.

    The batch row is locked, so two collectors, or a collection and a cancellation, take turns.
    """
    with transaction.atomic():
        batch = PrintBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise LetterStateError(_("Diesen Druckauftrag gibt es nicht."))
        if batch.collected_at is not None:
            raise LetterStateError(_("Dieser Druckauftrag wurde bereits abgeholt."))
        letters = list(
            batch.letters.select_for_update(of=("self",))
            .filter(status=LetterStatus.RENDERED, pin__status=PinStatus.ACTIVE)
            .order_by("id")
        )
        if not letters:
            raise LetterStateError(_("In diesem Druckauftrag ist kein Brief mehr zu drucken (alle storniert)."))
        _collect_into(batch=batch, letters=letters, user=user, pdf_out=pdf_out, manifest_out=manifest_out)
    return batch


def _archive(*, collect, out: IO[bytes]) -> PrintBatch | None:
    manifest = io.StringIO()
    with transaction.atomic(), tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as pdf:
        batch = collect(pdf_out=pdf, manifest_out=manifest)
        if batch is None:
            return None
        pdf.seek(0)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            with bundle.open(f"{batch.reference}.pdf", "w") as entry:
                shutil.copyfileobj(pdf, entry, SEGMENT_SIZE)
            bundle.writestr(f"{batch.reference}.csv", manifest.getvalue())
    return batch


def batch_collect_prepared_archive(*, batch_id: int, user: AbstractBaseUser, out: IO[bytes]) -> PrintBatch:
    """A prepared batch as one ZIP (<ref>.pdf, <ref>.csv); if the archive cannot be written, nothing is collected."""
    return _archive(
        collect=lambda **outs: batch_collect_prepared(batch_id=batch_id, user=user, **outs),
        out=out,
    )


def batch_collect_archive(*, user: AbstractBaseUser, out: IO[bytes], limit: int = 500) -> PrintBatch | None:
    """Collect a batch as one ZIP (<ref>.pdf, <ref>.csv) written to `out`, for the print shop's download.

    Collecting and packing share one transaction: if the archive cannot be written, nothing counts as collected.
    """
    return _archive(collect=lambda **outs: batch_collect(user=user, limit=limit, **outs), out=out)


def letter_release(*, letter: LetterRequest, actor: Actor) -> None:
    """Put a collected letter back in the print queue (a misprint, a lost batch). Audited; needs its PDF and PIN."""
    with transaction.atomic():
        letter = LetterRequest.objects.select_for_update(of=("self",)).select_related("member", "pin").get(pk=letter.pk)
        if letter.status != LetterStatus.COLLECTED:
            raise LetterStateError(_("Nur ein abgeholter Brief kann erneut freigegeben werden."))
        if not letter.pdf_name:
            raise LetterStateError(
                _("Das PDF dieses Briefs ist bereits gelöscht. Bitte fordern Sie einen neuen Brief an.")
            )
        if letter.pin is None or not pin_is_usable(pin=letter.pin):
            raise LetterStateError(_("Die PIN dieses Briefs gilt nicht mehr. Bitte fordern Sie einen neuen Brief an."))
        previous_batch = letter.batch_id
        letter.status = LetterStatus.RENDERED
        letter.collected_at = None
        letter.collected_by = None
        letter.batch = None
        letter.save(update_fields=["status", "collected_at", "collected_by", "batch"])
        _history(letter=letter, status=LetterStatus.RENDERED, by=actor.user, note="erneut freigegeben")
        audit_record(
            action=AuditAction.LETTER_RELEASED,
            actor=actor,
            member=letter.member,
            data={"letter_id": letter.pk, "batch_id": previous_batch},
        )


def letter_purge_pdfs(*, now: datetime.datetime | None = None, batch_size: int = 500) -> int:
    """Delete PDFs collected more than LETTER_PDF_RETENTION_DAYS ago, and cancel unprinted letters whose PIN ended.

    A rendered letter whose PIN has expired or been ended (the member transmitted) must not be printed any more.
    Returns the number of PDFs deleted.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.LETTER_PDF_RETENTION_DAYS)
    total = 0
    while True:
        with transaction.atomic():
            letters = list(
                LetterRequest.objects.select_for_update(skip_locked=True)
                .filter(status=LetterStatus.COLLECTED, collected_at__lt=cutoff)
                .exclude(pdf_name="")
                .order_by("id")[:batch_size]
            )
            if not letters:
                break
            LetterRequest.objects.filter(pk__in=[letter.pk for letter in letters]).update(
                pdf_name="", pdf_deleted_at=now
            )
            LetterStatusChange.objects.bulk_create(
                LetterStatusChange(letter=letter, status=letter.status, at=now, note="PDF gelöscht")
                for letter in letters
            )
            for letter in letters:
                _delete_pdf(letter)
        total += len(letters)
    dead = LetterRequest.objects.filter(status=LetterStatus.RENDERED).exclude(pin__status=PinStatus.ACTIVE)
    for letter in dead.select_related("pin")[:batch_size]:
        letter_cancel(letter=letter, actor=Actor.system())
        total += 1
    if total:
        logger.info("deleted %d letter PDFs", total)
    return total
