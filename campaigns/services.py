"""Writes for campaigns: read a member list, create a campaign, start/pause/resume/cancel it, render its chunks.

Exactly once: a recipient row is unique per campaign and member, and its letter is created, rendered and linked in
one transaction that locks the row and only proceeds while the row has no letter; a task that runs twice, a
resumed campaign or a redelivered chunk after a killed worker finds the work done. Tasks carry ids only.
"""

import csv
import datetime
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import Actor
from core.queue import task_enqueue
from letters.exceptions import LetterStateError
from letters.layered import render_campaign_letter
from letters.models import LetterRequest
from letters.pdfmerge import PdfConcatenator
from letters.rendering import SPECIMEN_PIN, LetterContent, LetterRenderError
from letters.services import batch_prepare, letter_cancel, letters_create_rendered
from members.kvnr import kvnr_is_valid, kvnr_normalize
from members.models import Member

from .constants import MAX_CSV_BYTES, MAX_ERRORS_SHOWN, MAX_LINES, CampaignStatus, SkipReason
from .exceptions import CampaignStateError, MemberListError
from .models import Campaign, CampaignBatch, CampaignRecipient

logger = logging.getLogger(__name__)

DISPATCH_TASK = "campaigns.tasks.campaign_dispatch"
CANCEL_TASK = "campaigns.tasks.campaign_cancel_letters"
LOOKUP_CHUNK = 5000


@dataclass
class MemberList:
    """A member list read from a CSV: the KVNRs in order, with the line each came from, and duplicate lines."""

    entries: list[tuple[int, str]] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)


def member_list_read(*, upload: IO[bytes]) -> MemberList:
    """Read a CSV of KVNRs (one a line, or a column named "kvnr"; comma or semicolon; UTF-8 with or without BOM).

    All or nothing: any malformed line raises MemberListError with every line number (the first few listed).
    """
    raw = upload.read(MAX_CSV_BYTES + 1)
    if len(raw) > MAX_CSV_BYTES:
        raise MemberListError([(0, _("Die Datei ist größer als 32 MB."))])
    if not raw.strip():
        raise MemberListError([(0, _("Die Datei ist leer."))])
    if b"\x00" in raw[:8192]:
        raise MemberListError([(0, _("Das ist keine CSV-Textdatei (die Datei enthält Binärdaten)."))])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MemberListError([(0, _("Die Datei ist nicht in UTF-8 kodiert oder keine Textdatei."))]) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    errors: list[tuple[int, str]] = []
    result = MemberList()
    seen: set[str] = set()
    column = 0
    for line, row in enumerate(reader, start=1):
        if line > MAX_LINES:
            raise MemberListError([(0, _("Die Datei hat mehr als 1.000.000 Zeilen."))])
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if line == 1 and "kvnr" in [cell.lower() for cell in cells]:
            column = [cell.lower() for cell in cells].index("kvnr")
            continue
        value = kvnr_normalize(cells[column] if column < len(cells) else "")
        if not kvnr_is_valid(value):
            errors.append(
                (line, _("„%(value)s“ ist keine gültige KVNR (Prüfziffer oder Format).") % {"value": value[:20]})
            )
            continue
        if value in seen:
            result.duplicates.append(line)
            continue
        seen.add(value)
        result.entries.append((line, value))
    if errors:
        shown = errors[:MAX_ERRORS_SHOWN]
        if len(errors) > MAX_ERRORS_SHOWN:
            shown.append(
                (0, _("… und %(count)d weitere fehlerhafte Zeilen.") % {"count": len(errors) - MAX_ERRORS_SHOWN})
            )
        raise MemberListError(shown)
    if not result.entries:
        raise MemberListError([(0, _("Die Datei enthält keine KVNR."))])
    return result


def _skip_reason(member: dict, today: datetime.date) -> str | None:
    if not (member["street"].strip() and member["town"].strip() and len(member["postcode"]) == 5):
        return SkipReason.NO_ADDRESS
    if member["egk_valid_until"] < today:
        return SkipReason.CARD_EXPIRED
    return None


def campaign_add_members(*, campaign: Campaign, members: MemberList) -> dict[str, int]:
    """Add the list's members to a draft campaign (in the caller's transaction); returns the skip counts added."""
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignStateError(_("Mitglieder können nur einem Entwurf hinzugefügt werden."))
    today = timezone.localdate()
    skipped = {reason.value: 0 for reason in SkipReason}
    skipped[SkipReason.ALREADY_IN_CAMPAIGN] += len(members.duplicates)
    kvnrs = [kvnr for _line, kvnr in members.entries]
    added = 0
    for start in range(0, len(kvnrs), LOOKUP_CHUNK):
        chunk = kvnrs[start : start + LOOKUP_CHUNK]
        found = {
            row["kvnr"]: row
            for row in Member.objects.filter(kvnr__in=chunk).values(
                "id", "kvnr", "street", "postcode", "town", "egk_valid_until"
            )
        }
        present = set(
            CampaignRecipient.objects.filter(
                campaign=campaign, member_id__in=[m["id"] for m in found.values()]
            ).values_list("member_id", flat=True)
        )
        new = []
        for kvnr in chunk:
            member = found.get(kvnr)
            if member is None:
                skipped[SkipReason.UNKNOWN_KVNR] += 1
            elif member["id"] in present:
                skipped[SkipReason.ALREADY_IN_CAMPAIGN] += 1
            elif reason := _skip_reason(member, today):
                skipped[reason] += 1
            else:
                new.append(CampaignRecipient(campaign=campaign, member_id=member["id"]))
        CampaignRecipient.objects.bulk_create(new, batch_size=1000)
        added += len(new)
    total = dict(campaign.skipped.get("counts", {}))
    for reason, count in skipped.items():
        total[reason] = total.get(reason, 0) + count
    duplicates = (campaign.skipped.get("duplicate_lines", []) + members.duplicates)[:MAX_ERRORS_SHOWN]
    campaign.skipped = {"counts": total, "duplicate_lines": duplicates}
    campaign.recipient_count += added
    campaign.save(update_fields=["skipped", "recipient_count"])
    return skipped


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
    """Send a task by name (tasks.py imports this module); a broker that is away leaves it to the watchdog beat."""
    task_enqueue(name=task_name, args=args, what=f"campaign task {task_name}{args}")


def _locked(campaign_id: int) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign_id)


def campaign_start(*, campaign_id: int, user: AbstractBaseUser | None) -> Campaign:
    """Start a draft campaign (or resume a paused one): the worker issues, renders and batches its letters."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
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
        campaign = _locked(campaign_id)
        if campaign.status != CampaignStatus.PAUSED:
            raise CampaignStateError(_("Nur eine angehaltene Kampagne kann fortgesetzt werden."))
    return campaign_start(campaign_id=campaign_id, user=user)


def campaign_pause(*, campaign_id: int, user: AbstractBaseUser | None) -> Campaign:
    """Pause: the worker stops before its next letter (within a second or so); resume goes on from there."""
    with transaction.atomic():
        campaign = _locked(campaign_id)
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
        campaign = _locked(campaign_id)
        if campaign.status == CampaignStatus.CANCELLED:
            raise CampaignStateError(_("Die Kampagne ist bereits abgebrochen."))
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at"])
        transaction.on_commit(lambda: _send(CANCEL_TASK, campaign_id))
    return campaign


def campaign_cancel_letters(*, campaign_id: int, limit: int = 500) -> tuple[int, int]:
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
            if status != "rendered":
                continue
            try:
                letter_cancel(letter=LetterRequest(pk=letter_id), actor=actor)
                cancelled += 1
            except LetterStateError:
                collected += 1
    logger.info("campaign %s: %d letters cancelled, %d already collected", campaign_id, cancelled, collected)
    return cancelled, collected


def campaign_chunks(*, campaign_id: int, size: int | None = None) -> Iterable[tuple[int, int]]:
    """(first, last) recipient id ranges of about `size` recipients still waiting for their letter (worker only)."""
    size = size or settings.CAMPAIGN_CHUNK_SIZE
    waiting = CampaignRecipient.objects.filter(campaign_id=campaign_id, letter__isnull=True, failure_reason="")
    last = 0
    while True:
        ids = list(waiting.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        last = ids[-1]
        yield ids[0], ids[-1]


def _running(campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).first()


def _render_group(*, campaign: Campaign, ids: list[int]) -> int:
    """One transaction: lock the recipients still without a letter, make their letters together, link them."""
    with transaction.atomic():
        recipients = list(
            CampaignRecipient.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("member")
            .filter(pk__in=ids, letter__isnull=True, failure_reason="")
            .order_by("pk")
        )
        if not recipients:
            return 0
        letters = letters_create_rendered(
            members=[recipient.member for recipient in recipients],
            purpose=f"Kampagne {campaign.reference}",
            case_title=campaign.case_title,
            template=campaign.template,
            validity_days=campaign.validity_days,
            actor=Actor.system(),
        )
        for recipient, letter in zip(recipients, letters, strict=True):
            recipient.letter = letter
        CampaignRecipient.objects.bulk_update(recipients, ["letter"])
    return len(recipients)


def campaign_render_chunk(*, campaign_id: int, first_id: int, last_id: int) -> int:
    """Issue and render the letters of recipients first_id..last_id that have none; returns how many were made.

    Letters are made CAMPAIGN_RENDER_GROUP at a time, each group in one transaction; the campaign's status is read
    before every group, so pause and cancel take effect within about a second. A group that cannot be rendered
    is retried one letter at a time, so one bad address fails only its own letter (with the reason).
    """
    made = 0
    # Members of one language share a static layer and a document: grouped by language, the documents stay full.
    ids = list(
        CampaignRecipient.objects.filter(
            campaign_id=campaign_id, pk__gte=first_id, pk__lte=last_id, letter__isnull=True, failure_reason=""
        )
        .order_by("member__language", "pk")
        .values_list("pk", flat=True)
    )
    size = settings.CAMPAIGN_RENDER_GROUP
    for start in range(0, len(ids), size):
        campaign = _running(campaign_id)
        if campaign is None:
            break
        group = ids[start : start + size]
        try:
            made += _render_group(campaign=campaign, ids=group)
        except LetterRenderError:
            for recipient_id in group:
                try:
                    made += _render_group(campaign=campaign, ids=[recipient_id])
                except LetterRenderError as error:
                    CampaignRecipient.objects.filter(pk=recipient_id, letter__isnull=True).update(
                        failure_reason=str(error)[:200]
                    )
    return made


def campaign_stalled(*, minutes: int | None = None) -> list[int]:
    """Running campaigns whose last letter (or start) is older than CAMPAIGN_STALLED_MINUTES."""
    cutoff = timezone.now() - datetime.timedelta(minutes=minutes or settings.CAMPAIGN_STALLED_MINUTES)
    stalled = []
    for campaign in Campaign.objects.filter(status=CampaignStatus.RUNNING, started_at__lt=cutoff):
        newest = (
            LetterRequest.objects.filter(campaign_recipient__campaign=campaign)
            .order_by("-id")
            .values_list("created_at", flat=True)
            .first()
        )
        if newest is None or newest < cutoff:
            stalled.append(campaign.pk)
    return stalled


def _try_lock(campaign_id: int) -> bool:
    """A transaction-scoped lock so that one process at a time forms the campaign's batches (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [0x4B41, campaign_id])
        return bool(cursor.fetchone()[0])


def campaign_batch_ready(*, campaign_id: int, final: bool = False) -> int:
    """Form print batches of CAMPAIGN_BATCH_SIZE rendered letters (and, when `final`, one of the rest)."""
    size = settings.CAMPAIGN_BATCH_SIZE
    made = 0
    campaign = Campaign.objects.get(pk=campaign_id)
    while True:
        with transaction.atomic():
            if not _try_lock(campaign_id):
                return made
            ids = list(
                LetterRequest.objects.filter(
                    campaign_recipient__campaign_id=campaign_id, status="rendered", batch__isnull=True
                )
                .order_by("id")
                .values_list("id", flat=True)[:size]
            )
            if not ids or (len(ids) < size and not final):
                return made
            batch = batch_prepare(letter_ids=ids, label=f"{campaign.reference} {campaign.name}")
            if batch is None:
                return made
            CampaignBatch.objects.create(campaign_id=campaign_id, batch=batch)
            made += 1


def campaign_finish_if_done(*, campaign_id: int) -> bool:
    """Mark a running campaign finished once no recipient waits, and batch the rest of its letters."""
    waiting = CampaignRecipient.objects.filter(campaign_id=campaign_id, letter__isnull=True, failure_reason="")
    with transaction.atomic():
        campaign = _locked(campaign_id)
        if campaign.status != CampaignStatus.RUNNING or waiting.exists():
            return False
        campaign.status = CampaignStatus.FINISHED
        campaign.finished_at = timezone.now()
        campaign.save(update_fields=["status", "finished_at"])
    campaign_batch_ready(campaign_id=campaign_id, final=True)
    return True


def campaign_preview(*, campaign_id: int, count: int = 3) -> bytes:
    """The first `count` letters as one PDF with a specimen PIN that cannot log in; nothing is written."""
    campaign = Campaign.objects.get(pk=campaign_id)
    recipients = CampaignRecipient.objects.filter(campaign=campaign).select_related("member").order_by("pk")[:count]
    out = io.BytesIO()
    merged = PdfConcatenator(out)
    today = timezone.localdate()
    for recipient in recipients:
        member = recipient.member
        content = LetterContent(
            reference="B-00000000",
            language=member.language or settings.LANGUAGE_CODE,
            full_name=member.full_name,
            address_lines=member.address_lines,
            purpose="",
            valid_until=today + datetime.timedelta(days=campaign.validity_days),
            letter_date=today,
            pin_display=SPECIMEN_PIN,
            case_title=campaign.case_title,
            kvnr=member.kvnr,
        )
        merged.append(io.BytesIO(render_campaign_letter(content=content, template=campaign.template).pdf))
    merged.close()
    return out.getvalue()
