"""The print shop's side: collect ready letters as one merged PDF with its manifest, prepared batches, re-release."""

import csv
import hashlib
import io
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record, audit_record_many
from core.crypto import SEGMENT_SIZE, DecryptionError
from core.streams import SPOOL_BYTES
from pins.constants import PinStatus
from pins.services import pin_is_usable

from ..composition import SharedLayer, compose
from ..constants import PRINT_BATCH_MAX, BatchChannel, LetterStatus
from ..exceptions import LetterStateError
from ..models import LetterLayer, LetterRequest, LetterStatusChange, PrintBatch
from ..selectors import print_queue
from .common import letter_history_add, letter_locked


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


def _layer(*, letter: LetterRequest, layers: dict[int, SharedLayer] | None) -> SharedLayer:
    """The letter's shared layer, decrypted once per print batch; checked against its name (its SHA-256)."""
    if layers is not None and letter.layer_id in layers:
        return layers[letter.layer_id]
    layer: LetterLayer = letter.layer
    shared = SharedLayer.of(b"".join(layer.open()))
    if shared.digest != layer.digest:
        raise DecryptionError(f"letter layer {layer.pk}: PDF does not match its SHA-256")
    if layers is not None:
        layers[layer.pk] = shared
    return shared


def letter_pdf(*, letter: LetterRequest, layers: dict[int, SharedLayer] | None = None) -> bytes:
    """The letter's complete plaintext PDF (a campaign letter's variable page composed with its shared layer);
    a wrong key, a moved file or a changed file fails loudly. `layers` caches shared layers across calls."""
    pdf = b"".join(letter.open())
    if hashlib.sha256(pdf).hexdigest() != letter.pdf_sha256:
        raise DecryptionError(f"letter {letter.pk}: PDF does not match its recorded SHA-256")
    if letter.layer_id is None:
        return pdf
    return compose(variable=pdf, layer=_layer(letter=letter, layers=layers))


def _write_batch(*, letters: list[LetterRequest], pdf_out: IO[bytes], manifest_out: IO[str]) -> list[ManifestRow]:
    """The merged PDF (objects the letters share, such as a campaign's static page and fonts, written once) and
    the manifest; each row's SHA-256 is that of the complete letter as letter_pdf returns it."""
    from ..pdfmerge import PdfConcatenator  # pypdf: imported by the process that writes a batch

    merged = PdfConcatenator(pdf_out)
    rows: list[ManifestRow] = []
    layers: dict[int, SharedLayer] = {}
    page = 1
    for position, letter in enumerate(letters, start=1):
        pdf = letter_pdf(letter=letter, layers=layers)
        pages = merged.append(io.BytesIO(pdf))
        rows.append(ManifestRow(position, letter.pk, letter.reference, page, pages, hashlib.sha256(pdf).hexdigest()))
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
    limit: int = PRINT_BATCH_MAX,
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


def _archive(*, collect: Callable[..., PrintBatch | None], out: IO[bytes]) -> PrintBatch | None:
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


def batch_collect_archive(*, user: AbstractBaseUser, out: IO[bytes], limit: int = PRINT_BATCH_MAX) -> PrintBatch | None:
    """Collect a batch as one ZIP (<ref>.pdf, <ref>.csv) written to `out`, for the print shop's download.

    Collecting and packing share one transaction: if the archive cannot be written, nothing counts as collected.
    """
    return _archive(collect=lambda **outs: batch_collect(user=user, limit=limit, **outs), out=out)


def letter_release(*, letter: LetterRequest, actor: Actor) -> None:
    """Put a collected letter back in the print queue (a misprint, a lost batch). Audited; needs its PDF and PIN."""
    with transaction.atomic():
        letter = letter_locked(letter=letter, related=("pin",))
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
        letter_history_add(letter=letter, status=LetterStatus.RENDERED, by=actor.user, note="erneut freigegeben")
        audit_record(
            action=AuditAction.LETTER_RELEASED,
            actor=actor,
            member=letter.member,
            data={"letter_id": letter.pk, "batch_id": previous_batch},
        )
