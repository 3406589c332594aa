"""Prepare the file storages: the S3 bucket with its lifecycle rules, or the local folders; then verify access."""

import math

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core import storage as stored_files
from core.s3 import is_s3, s3_prepare_bucket


class Command(BaseCommand):
    help = (
        "Creates the S3 bucket (if missing) with public access blocked, default encryption and a lifecycle rule "
        "for abandoned uploads, or the local storage folders; then writes, reads and deletes a probe in each "
        "storage. With --check only the probe runs. Safe to run on every deployment."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only verify access, change nothing")

    def handle(self, *args, check: bool = False, **options):
        default = stored_files.private_storage()
        if not check and is_s3(default):
            staging_days = max(1, math.ceil(settings.UPLOAD_EXPIRY_HOURS / 24) + 1)
            staging_prefix = "staging/"
            try:
                steps = s3_prepare_bucket(default, staging_prefix=staging_prefix, staging_days=staging_days)
            except OSError as error:
                raise CommandError(f"preparing the bucket failed: {error}") from error
            for step in steps:
                self.stdout.write(step)
        for alias, storage in (("default", default),):
            try:
                stored_files.verify_access(storage)
            except OSError as error:
                raise CommandError(f"storage {alias!r}: no access ({error})") from error
            self.stdout.write(self.style.SUCCESS(f"storage {alias!r}: write, read and delete work"))
