"""manage.py restore --from DIR: a backup into an empty database and empty storages."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import COPY, KEYS_APART, BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restores a backup written by `manage.py backup` into the configured database and storages. The "
        "database must be empty (a new one) and, for a backup with copied objects, so must the bucket or "
        "folders; a backup of the manifest kind needs the bucket restored by its own means first and checks it "
        "against the manifest. The backup's copies are checked (SHA-256) before anything is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, type=Path, help="the backup folder")

    def handle(self, *args, source: Path, **options):
        try:
            report = backup_restore(source=source)
        except (BackupError, OSError) as error:
            raise CommandError(f"restore failed: {error}") from error
        total = report.verify_seconds + report.database_seconds + report.objects_seconds
        self.stdout.write(
            self.style.SUCCESS(
                f"restored: backup checked in {report.verify_seconds:.1f} s, {report.engine} database in "
                f"{report.database_seconds:.1f} s, {report.objects} objects ({report.object_bytes} bytes) "
                f"{'written' if report.mode == COPY else 'found in the storage'} in {report.objects_seconds:.1f} s; "
                f"{total:.1f} s in all"
            )
        )
        if report.key_ids:
            needed = ", ".join(sorted(report.key_ids))
            self.stdout.write(f"FILE_ENCRYPTION_KEYS must list the key ids {needed} to read the restored files.")
        if report.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"the backup predates {len(report.pending_migrations)} migrations of this release: "
                    "run `manage.py migrate` now."
                )
            )
        self.stdout.write(KEYS_APART)
