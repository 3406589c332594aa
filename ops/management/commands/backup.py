"""manage.py backup --out DIR: a consistent database dump plus the stored objects (or their manifest), no keys."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import COPY, KEYS_APART, MANIFEST_ONLY, BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Writes a backup into a new, empty folder: the database (pg_dump custom format, or SQLite's online "
        "backup in the embedded mode), then every stored object as it is (encrypted), and manifest.json last. "
        "With --objects manifest the objects are only listed with size and ETag, for a bucket (or folder) "
        "that is backed up by its own means. The encryption keys are never written: a folder next to them "
        "(the project folder, any folder holding an .env file) is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="a new or empty folder outside the project")
        parser.add_argument(
            "--objects",
            choices=(COPY, MANIFEST_ONLY),
            default=COPY,
            help="copy the stored objects (default) or only list them for a bucket backed up by its own means",
        )

    def handle(self, *args, out: Path, objects: str, **options):
        try:
            report = backup_create(out=out, mode=objects)
        except (BackupError, OSError) as error:
            raise CommandError(f"backup failed: {error}") from error
        total = report.database_seconds + report.objects_seconds
        self.stdout.write(
            self.style.SUCCESS(
                f"backup written to {report.out}: {report.engine} dump of {report.database_bytes} bytes in "
                f"{report.database_seconds:.1f} s; {report.objects} objects ({report.object_bytes} bytes) "
                f"{'copied' if report.mode == COPY else 'listed'} in {report.objects_seconds:.1f} s; "
                f"{total:.1f} s in all"
            )
        )
        if report.key_ids:
            census = ", ".join(f"{key_id}: {count}" for key_id, count in sorted(report.key_ids.items()))
            self.stdout.write(f"objects per encryption key id (needed to read them): {census}")
        self.stdout.write(self.style.WARNING(KEYS_APART))
