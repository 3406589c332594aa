"""Letter requests: ask for a letter (the worker renders it once the caller commits), retry, cancel, give up, requeue."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from core.queue import task_enqueue
from members.models import Member
from pins.constants import EndReason
from pins.services import pin_invalidate

from ..constants import LetterStatus
from ..exceptions import LetterStateError
from ..models import LetterRequest
from .common import letter_history_add, letter_locked, letter_pdf_delete_on_commit

logger = logging.getLogger(__name__)

# The worker's task, sent by name: this module never imports letters.tasks (which imports the services).
RENDER_TASK = "letters.tasks.render_letter_task"


def _enqueue(letter_id: int) -> None:
    """Hand a request to the worker. A broker that is down loses nothing: the beat re-enqueues waiting requests."""
    task_enqueue(name=RENDER_TASK, args=(letter_id,), what=f"letter {letter_id}")


def _requested(*, letter: LetterRequest, actor: Actor, reason: str, note: str = "") -> None:
    """Record that the letter waits for the worker, and hand it over once the caller's transaction commits."""
    letter_history_add(letter=letter, status=LetterStatus.REQUESTED, by=actor.user, note=note)
    audit_record(
        action=AuditAction.LETTER_REQUESTED,
        actor=actor,
        member=letter.member,
        reason=reason,
        data={"letter_id": letter.pk},
    )
    letter_id = letter.pk
    transaction.on_commit(lambda: _enqueue(letter_id))


def letter_request_create(*, member: Member, purpose: str, actor: Actor) -> LetterRequest:
    """Ask for a PIN letter, in the caller's transaction; the worker renders it once that transaction commits."""
    now = timezone.now()
    with transaction.atomic():
        letter = LetterRequest.objects.create(
            member=member, purpose=purpose.strip()[:200], requested_by=actor.user, created_at=now, enqueued_at=now
        )
        _requested(letter=letter, actor=actor, reason=letter.purpose)
    return letter


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
        letter_history_add(letter=letter, status=LetterStatus.FAILED, note=reason)
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
        letter = letter_locked(letter=letter)
        if letter.status != LetterStatus.FAILED:
            raise LetterStateError(_("Nur ein fehlgeschlagener Brief kann erneut erstellt werden."))
        letter.status = LetterStatus.REQUESTED
        letter.failure_reason = ""
        letter.attempts = 0
        letter.enqueued_at = timezone.now()
        letter.save(update_fields=["status", "failure_reason", "attempts", "enqueued_at"])
        _requested(letter=letter, actor=actor, reason="retry after failure", note="erneut angestoßen")


def letter_cancel(*, letter: LetterRequest, actor: Actor) -> None:
    """Cancel a letter not yet collected by the print shop; its PIN stops working and its PDF is deleted."""
    with transaction.atomic():
        letter = letter_locked(letter=letter)
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
        letter_pdf_delete_on_commit(letter=letter)
        letter_history_add(letter=letter, status=LetterStatus.CANCELLED, by=actor.user)
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
