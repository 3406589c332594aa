"""Prepare the file storages: the S3 bucket with its lifecycle rules, or the local folders; then verify access."""

from django.core.management.base import BaseCommand, CommandError

from core import storage as stored_files
from core.s3 import SSE_NAMES, is_s3, s3_prepare_bucket, unsupported_code


class Command(BaseCommand):
    help = (
        "Creates the S3 bucket (if missing) with public access blocked, default encryption (S3_SSE) and a "
        "lifecycle rule for abandoned uploads, or the local storage folders; then writes, reads and deletes a "
        "probe in each storage. A store that does not implement one of the hardening steps (MinIO has no "
        "public access block, nor SSE-S3 without a key-management service) gets a warning and the set-up goes "
        "on. With --check only the probe runs. Safe to run on every deployment."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only verify access, change nothing")

    def handle(self, *args, check: bool = False, **options):
        default = stored_files.private_storage()
        if not check and is_s3(default):
            try:
                done = s3_prepare_bucket(default)
            except OSError as error:
                raise CommandError(f"preparing the bucket failed: {error}") from error
            for step in done.steps:
                self.stdout.write(step)
            for warning in done.warnings:
                self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        for alias, storage in (("default", default),):
            try:
                stored_files.verify_access(storage)
            except OSError as error:
                raise CommandError(f"storage {alias!r}: no access ({error}){self._hint(storage, error)}") from error
            self.stdout.write(self.style.SUCCESS(f"storage {alias!r}: write, read and delete work"))

    @staticmethod
    def _hint(storage, error: OSError) -> str:
        """A write refused as "not implemented" while S3_SSE asks for server-side encryption: say what to set."""
        algorithm = storage.get_object_parameters("").get("ServerSideEncryption") if is_s3(storage) else None
        if algorithm and unsupported_code(error.__cause__) is not None:
            name = SSE_NAMES.get(algorithm, algorithm)
            return (
                f". The S3 service refuses {name}: set S3_SSE=none (the portal encrypts every object itself) "
                "or give the service a key-management service"
            )
        return ""
