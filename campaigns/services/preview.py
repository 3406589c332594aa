"""A campaign's preview: its first letters with a specimen PIN that cannot log in; nothing is written."""

import datetime
import io

from django.conf import settings
from django.utils import timezone

from letters.rendering import SPECIMEN_PIN, LetterContent

from ..models import Campaign, CampaignRecipient


def campaign_preview(*, campaign_id: int, count: int = 3) -> bytes:
    """The first `count` letters as one PDF with a specimen PIN that cannot log in; nothing is written."""
    # WeasyPrint and pypdf: imported where a letter is set, not by every process that loads the campaigns' services.
    from letters.layered import render_campaign_letter
    from letters.pdfmerge import PdfConcatenator

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
        merged.append(io.BytesIO(render_campaign_letter(content=content, template=campaign.template).document))
    merged.close()
    return out.getvalue()
