"""Load demo data (members, a fresh PIN, staff users) and print how to log in; DEBUG only."""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from audit.services import Actor
from letters.services import letter_request_create
from members.services import member_upsert
from pins.services import pin_issue
from staff.services import staff_demo_users

DEMO_MEMBERS = [
    {
        "kvnr": "A123456780",
        "first_name": "Erika",
        "last_name": "Mustermann",
        "street": "Heidestraße 17",
        "postcode": "51147",
        "town": "Köln",
        "language": "de",
        "card_years": 3,
    },
    {
        "kvnr": "Z123456783",
        "first_name": "Max",
        "last_name": "Beispiel",
        "address_line": "c/o Familie Muster",
        "street": "Am Markt 1",
        "postcode": "44135",
        "town": "Dortmund",
        "language": "en",
        "card_years": -1,  # an expired health card, to see that message
    },
]


class Command(BaseCommand):
    help = "Create demo members and staff users, issue a fresh PIN for each demo member and print the logins."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is for local use only (DEBUG must be on).")
        today = timezone.localdate()
        lines = []
        with transaction.atomic():
            for entry in DEMO_MEMBERS:
                data = {key: value for key, value in entry.items() if key not in ("kvnr", "card_years")}
                data["egk_valid_until"] = today + datetime.timedelta(days=365 * entry["card_years"])
                member, _ = member_upsert(kvnr=entry["kvnr"], data=data)
                issued = pin_issue(member=member, purpose="Demo", actor=Actor.system())
                # A letter as the print shop would get it (rendered by the worker once this commits).
                letter_request_create(member=member, purpose="Demo", actor=Actor.system())
                card = "valid" if member.card_is_valid() else "EXPIRED health card"
                lines.append(f"  {member.full_name:<18} KVNR {member.kvnr}  PIN {issued.display}  ({card})")
            staff = staff_demo_users()
        self.stdout.write("")
        self.stdout.write(f"Portal: {settings.PORTAL_PUBLIC_URL}/")
        self.stdout.write("Demo members (each run of `manage.py demo` sends a new PIN; older ones stay valid):")
        for line in lines:
            self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(f"Staff: {settings.PORTAL_PUBLIC_URL}/admin/ (password, then the TOTP code of the secret)")
        for username, role, password, secret in staff:
            self.stdout.write(f"  {username:<20} {role:<14} password {password}  TOTP secret {secret}")
        self.stdout.write("  Current code: .venv/bin/python manage.py demo_totp USERNAME")
        self.stdout.write("")
