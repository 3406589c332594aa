"""`manage.py campaign start|pause|resume|cancel|status`: campaigns for operators, with progress on the terminal."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from campaigns.constants import CampaignStatus
from campaigns.exceptions import CampaignStateError, MemberListError
from campaigns.models import Campaign
from campaigns.selectors import campaign_progress
from campaigns.services import (
    campaign_cancel,
    campaign_create,
    campaign_pause,
    campaign_resume,
    campaign_start,
    member_list_read,
)

ACTIONS = {"pause": campaign_pause, "resume": campaign_resume, "cancel": campaign_cancel}


class Command(BaseCommand):
    help = "Start, pause, resume or cancel a campaign, or show its progress (--wait follows it to the end)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "pause", "resume", "cancel", "status"])
        parser.add_argument("--id", type=int, help="an existing campaign")
        parser.add_argument("--csv", type=Path, help="start: a new campaign from this member list (KVNRs)")
        parser.add_argument("--name", help="start --csv: the campaign's internal name")
        parser.add_argument("--case", help="start --csv: the case as members read it in the letter")
        parser.add_argument("--validity", type=int, default=settings.PIN_VALIDITY_DAYS, help="days the PINs are valid")
        parser.add_argument("--template", default="standard")
        parser.add_argument("--wait", action="store_true", help="print progress until the campaign stops")

    def handle(self, *args, action, **options):
        if action == "start" and options["csv"]:
            campaign = self._create(options)
        elif options["id"]:
            campaign = Campaign.objects.filter(pk=options["id"]).first()
            if campaign is None:
                raise CommandError(f"no campaign {options['id']}")
        else:
            raise CommandError("give --id (or, to start a new campaign, --csv with --name and --case)")
        try:
            if action == "start":
                campaign_start(campaign_id=campaign.pk, user=None)
            elif action in ACTIONS:
                ACTIONS[action](campaign_id=campaign.pk, user=None)
        except CampaignStateError as error:
            raise CommandError(str(error)) from None
        self._report(campaign)
        if options["wait"]:
            self._follow(campaign)

    def _create(self, options) -> Campaign:
        if not (options["name"] and options["case"]):
            raise CommandError("start --csv needs --name and --case")
        if not 1 <= options["validity"] <= settings.PIN_VALIDITY_DAYS:
            raise CommandError(f"--validity must be 1..{settings.PIN_VALIDITY_DAYS} days")
        try:
            with options["csv"].open("rb") as upload:
                members = member_list_read(upload=upload)
        except OSError as error:
            raise CommandError(f"{options['csv']}: {error.strerror}") from None
        except MemberListError as error:
            lines = [f"line {line}: {message}" if line else message for line, message in error.errors]
            raise CommandError("the member list was not used:\n  " + "\n  ".join(lines)) from None
        campaign = campaign_create(
            name=options["name"],
            case_title=options["case"],
            template=options["template"],
            validity_days=options["validity"],
            members=members,
            user=None,
        )
        counts = campaign.skipped.get("counts", {})
        skipped = ", ".join(f"{reason}: {count}" for reason, count in counts.items() if count) or "none"
        self.stdout.write(f"{campaign.reference}: {campaign.recipient_count} recipients; skipped: {skipped}")
        return campaign

    def _report(self, campaign: Campaign) -> dict:
        campaign.refresh_from_db()
        progress = campaign_progress(campaign=campaign)
        self.stdout.write(
            "{ref} {status}: {percent:5.1f} % | planned {planned} | PIN issued {issued} | rendered {rendered} | "
            "in a batch {batched} | collected {collected} | cancelled {cancelled} | failed {failed}".format(
                ref=campaign.reference, **progress
            )
        )
        return progress

    def _follow(self, campaign: Campaign) -> None:
        while True:
            progress = self._report(campaign)
            if progress["status"] in (CampaignStatus.FINISHED, CampaignStatus.CANCELLED, CampaignStatus.PAUSED):
                return
            time.sleep(2)
