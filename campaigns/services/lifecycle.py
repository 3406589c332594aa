"""A campaign's life: create it with its members, start, pause, resume, cancel (and cancel its letters).

The work itself is the worker's (campaigns.services.worker); the tasks are sent by name, so this package never
imports campaigns.tasks, which imports it.
"""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor
from core.queue import task_enqueue
from letters.constants import LetterStatus
from letters.exceptions import LetterStateError
from letters.models import LetterRequest
from letters.services import letter_cancel

from ..constants import CampaignStatus
from ..exceptions import CampaignStateError
from ..models import Campaign, CampaignRecipient
from .member_list import MemberList, campaign_add_members

logger = logging.getLogger(__name__)

DISPATCH_TASK = "campaigns.tasks.campaign_dispatch"
CANCEL_TASK = "campaigns.tasks.campaign_cancel_letters"
# Letters read per query while cancelling a campaign's letters (a chunk, not a rule).
CANCEL_CHUNK = 500


def campaign_create(
    *,
    name: str,
    case_title: str,
    template: str,
    validity_days: int,
    members: MemberList,
    user: AbstractBaseUser | None,
) -> Campaign:
    """Create a draft campaign with its members; nothing is saved unless all of it is."""
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=name.strip(),
            case_title=case_title.strip(),
            template=template,
            validity_days=validity_days,
            created_by=user,
        )
        campaign_add_members(campaign=campaign, members=members)
    return campaign


def _send(task_name: str, *args: int) -> None:
    """Send a task by name (tasks.py imports this package); a broker that is away leaves it to the watchdog beat."""
    task_enqueue(name=task_name, args=args, what=f"campaign task {task_name}{args}")


def campaign_locked(*, campaign_id: int) -> Campaign:
    """The campaign's row, locked for the rest of the caller's transaction (status changes take turns)."""
    return Campaign.objects.select_for_update().get(pk=campaign_id)


def campaign_start(*, campaign_id: int, user: AbstractBaseUser | None) -> Campaign:
    """Start a draft campaign (or resume a paused one): the worker issues, renders and batches its letters."""
    with transaction.atomic():
        campaign = campaign_locked(campaign_id=campaign_id)
        if campaign.status == CampaignStatus.RUNNING:
            raise CampaignStateError(_("Die Kampagne läuft bereits; ein zweiter Start ändert nichts."))
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
            raise CampaignStateError(
                _("Eine Kampagne mit Status „%(status)s“ kann nicht gestartet werden.")
                % {"status": campaign.get_status_display()}
            )
        if not campaign.recipient_count:
            raise CampaignStateError(_("Die Kampagne hat keine Empfänger."))
        campaign.status = CampaignStatus.RUNNING
        campaign.started_at = campaign.started_at or timezone.now()
        campaign.save(update_fields=["status", "started_at"])
        transaction.on_commit(lambda: _send(DISPATCH_TASK, campaign_id))
    logger.info("campaign %s started by %s", campaign_id, getattr(user, "pk", None))
    return campaign


def campaign_resume(*, campaign_id: int, user: AbstractBaseUser | None) -> Campaign:
    with transaction.atomic():
        campaign = campaign_locked(campaign_id=campaign_id)
        if campaign.status != CampaignStatus.PAUSED:
            raise CampaignStateError(_("Nur eine angehaltene Kampagne kann fortgesetzt werden."))
    return campaign_start(campaign_id=campaign_id, user=user)


def campaign_pause(*, campaign_id: int, user: AbstractBaseUser | None) -> Campaign:
    """Pause: the worker stops before its next letter (within a second or so); resume goes on from there."""
    with transaction.atomic():
        campaign = campaign_locked(campaign_id=campaign_id)
        if campaign.status != CampaignStatus.RUNNING:
            raise CampaignStateError(
                _("Nur eine laufende Kampagne kann angehalten werden (Status: %(status)s).")
                % {"status": campaign.get_status_display()}
            )
        campaign.status = CampaignStatus.PAUSED
        campaign.save(update_fields=["status"])
    return campaign


def campaign_cancel(*, campaign_id: int, user: AbstractBaseUser | None) -> Campaign:
    """Cancel: no further letters; the worker ends the PINs of letters issued but not yet collected for print."""
    with transaction.atomic():
        campaign = campaign_locked(campaign_id=campaign_id)
        if campaign.status == CampaignStatus.CANCELLED:
            raise CampaignStateError(_("Die Kampagne ist bereits abgebrochen."))
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at"])
        transaction.on_commit(lambda: _send(CANCEL_TASK, campaign_id))
    return campaign


def campaign_cancel_letters(*, campaign_id: int, limit: int = CANCEL_CHUNK) -> tuple[int, int]:
    """Cancel the campaign's letters not yet collected (their PINs end); returns (cancelled, already collected).

    A letter the print shop is collecting right now is locked: the cancellation waits and then finds it collected.
    """
    cancelled = collected = 0
    last = 0
    actor = Actor.system()
    while True:
        rows = list(
            CampaignRecipient.objects.filter(campaign_id=campaign_id, letter__isnull=False, letter_id__gt=last)
            .order_by("letter_id")
            .values_list("letter_id", "letter__status")[:limit]
        )
        if not rows:
            break
        last = rows[-1][0]
        for letter_id, status in rows:
            if status != LetterStatus.RENDERED:
                continue
            try:
                letter_cancel(letter=LetterRequest(pk=letter_id), actor=actor)
                cancelled += 1
            except LetterStateError:
                collected += 1
    logger.info("campaign %s: %d letters cancelled, %d already collected", campaign_id, cancelled, collected)
    return cancelled, collected
