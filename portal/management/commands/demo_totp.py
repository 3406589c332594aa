"""Print the current TOTP code of a demo staff user, for trying the admin login locally; DEBUG only."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo staff user (demo-call-centre, demo-print-shop, ...)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        if not settings.DEBUG:
            raise CommandError("Only for local demo use (DEBUG must be on).")
        if not username.startswith("demo-"):
            raise CommandError("Only demo users (demo-...) have a known TOTP secret.")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"No TOTP device for {username}; run `manage.py demo` first.")
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"{totp.token():0{device.digits}d}")
