"""A campaign's member list: read the CSV of KVNRs (all or nothing), add its members to a draft, count who is skipped."""

import csv
import datetime
import io
from dataclasses import dataclass, field
from typing import IO

from django.utils import timezone
from django.utils.translation import gettext as _

from members.kvnr import kvnr_is_valid, kvnr_normalize
from members.selectors import member_rows_by_kvnr

from ..constants import MAX_CSV_BYTES, MAX_ERRORS_SHOWN, MAX_LINES, CampaignStatus, SkipReason
from ..exceptions import CampaignStateError, MemberListError
from ..models import Campaign, CampaignRecipient

# KVNRs looked up per query while adding a list's members.
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
        found = member_rows_by_kvnr(kvnrs=chunk)
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
