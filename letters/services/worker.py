"""The worker's render step: lock the request, issue its PIN through pins, render the letter, store it encrypted.

Also a campaign's letters, rendered together: created, PINs issued (with the campaign's validity, by pins),
rendered and stored in one transaction.
"""

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record, audit_record_many
from core.crypto import save_encrypted
from core.storage import private_storage
from members.models import Member
from pins.services import pin_issue, pins_issue_many

from ..composition import SharedLayer
from ..constants import LetterStatus
from ..models import LetterLayer, LetterRequest, LetterStatusChange
from ..rendering import LetterContent, RenderedLetter, render_letter
from .common import letter_history_add

if TYPE_CHECKING:
    from ..layered import LayeredLetter


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


def _store(*, letter: LetterRequest, rendered: RenderedLetter) -> None:
    """Write the letter's PDF encrypted under its fixed name and mark it rendered (the caller saves the row)."""
    stored = save_encrypted(storage=private_storage(), name=letter.storage_name, chunks=[rendered.pdf], aad=letter.aad)
    letter.status = LetterStatus.RENDERED
    letter.pdf_name = stored.name
    letter.pdf_sha256 = stored.sha256
    letter.pages = rendered.pages
    letter.rendered_at = timezone.now()


def _layer_stored(*, layer: SharedLayer) -> LetterLayer:
    """The stored shared layer with this content, stored now if no process did before (in the caller's
    transaction: a concurrent process with the same layer waits on the unique digest, then finds it)."""
    found = LetterLayer.objects.filter(digest=layer.digest).first()
    if found is not None:
        return found
    row = LetterLayer(digest=layer.digest, size=len(layer.pdf))
    # Content-addressed: a retry after a rollback writes the same bytes under the same name again.
    save_encrypted(storage=private_storage(), name=row.storage_name, chunks=[layer.pdf], aad=row.aad)
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return LetterLayer.objects.get(digest=layer.digest)
    return row


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
        letter.pin = issued.pin
        _store(letter=letter, rendered=rendered)
        letter.failure_reason = ""
        letter.save(update_fields=["status", "pin", "pdf_name", "pdf_sha256", "pages", "rendered_at", "failure_reason"])
        letter_history_add(letter=letter, status=LetterStatus.RENDERED)
        audit_record(
            action=AuditAction.LETTER_RENDERED,
            actor=Actor.system(),
            member=letter.member,
            data={"letter_id": letter.pk, "pin_id": letter.pin_id, "pages": rendered.pages},
        )


def _layer_for(result: "LayeredLetter", layers: dict[str, LetterLayer]) -> LetterLayer | None:
    if result.layer is None:
        return None
    if result.layer.digest not in layers:
        layers[result.layer.digest] = _layer_stored(layer=result.layer)
    return layers[result.layer.digest]


def _letter_ids_reserved(*, count: int) -> list[int] | None:
    """`count` ids for new letters from their table's sequence (PostgreSQL), so that each letter, whose id its
    reference and file name need before it is rendered, is written once and complete; None on other databases."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [LetterRequest._meta.db_table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def letters_create_rendered(
    *, members: list[Member], purpose: str, case_title: str, template: str, validity_days: int, actor: Actor
) -> list[LetterRequest]:
    """A campaign's letters for `members`: created, PINs issued, rendered together and stored encrypted, atomically.

    Nothing of them exists unless all of them do; the caller links them to its campaign in the same transaction.
    Rendering several letters at once shares WeasyPrint's per-document cost (letters.layered); the PINs, the
    letters, their history and their audit rows are written a statement per table for the whole group.
    """
    now = timezone.now()
    # No savepoint of its own inside the caller's transaction: whatever fails here fails the caller's too.
    with transaction.atomic(savepoint=False):
        issued = pins_issue_many(members=members, purpose=purpose, actor=actor, validity_days=validity_days)
        letters = [
            LetterRequest(
                member=member,
                pin=one.pin,
                purpose=purpose[:200],
                case_title=case_title[:200],
                requested_by=actor.user,
                created_at=now,
                enqueued_at=now,
            )
            for member, one in zip(members, issued, strict=True)
        ]
        ids = _letter_ids_reserved(count=len(letters))
        if ids is None:
            LetterRequest.objects.bulk_create(letters)
        else:
            for letter, pk in zip(letters, ids, strict=True):
                letter.pk = pk
        contents = [
            _content(letter=letter, pin_display=one.display, valid_until=one.pin.expires_at)
            for letter, one in zip(letters, issued, strict=True)
        ]
        del issued
        from ..layered import render_campaign_letters  # WeasyPrint: imported by the processes that set letters

        rendered = render_campaign_letters(contents=contents, template=template)
        del contents  # the PINs' plaintext: not kept longer than the rendering needs it
        layers: dict[str, LetterLayer] = {}
        history = []
        for letter, result in zip(letters, rendered, strict=True):
            _store(letter=letter, rendered=result)
            letter.layer = _layer_for(result, layers)
            history += [
                LetterStatusChange(letter=letter, status=LetterStatus.REQUESTED, at=now, by=actor.user),
                LetterStatusChange(
                    letter=letter, status=LetterStatus.RENDERED, at=letter.rendered_at, note=result.method
                ),
            ]
        if ids is None:
            LetterRequest.objects.bulk_update(
                letters, ["status", "pdf_name", "pdf_sha256", "pages", "rendered_at", "layer"]
            )
        else:
            LetterRequest.objects.bulk_create(letters)
        LetterStatusChange.objects.bulk_create(history)
        audit_record_many(
            action=AuditAction.LETTER_RENDERED,
            actor=actor,
            entries=[(letter.member_id, {"letter_id": letter.pk, "pin_id": letter.pin_id}) for letter in letters],
            reason=purpose,
        )
    return letters
