"""Create a staff user in a role with a TOTP device, and print the enrolment as otpauth URI and QR code."""

import getpass
import io

import segno
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from audit.services import Actor
from staff.constants import Role
from staff.services import staff_create


class Command(BaseCommand):
    help = (
        "Create a staff user with a role and a TOTP device. Prints the otpauth:// URI and a QR code to scan with "
        "an authenticator app; without --password the password is asked for twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument(
            "--password", help="Otherwise asked for at the prompt (recommended: not in the shell history)."
        )
        parser.add_argument("--email", default="")

    def _ask_password(self) -> str:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The passwords do not match.")
        return password

    def handle(self, *args, username: str, role: str, password: str | None, email: str, **options):
        password = password or self._ask_password()
        try:
            enrolment = staff_create(username=username, role=role, password=password, email=email, actor=Actor.system())
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        uri = enrolment.otpauth_uri
        self.stdout.write(f"Created staff user {username} ({Role(role).label}).")
        self.stdout.write("Scan this QR code with an authenticator app, or enter the URI by hand:")
        self.stdout.write(uri)
        buffer = io.StringIO()
        segno.make(uri).terminal(out=buffer, compact=True)
        self.stdout.write(buffer.getvalue())
