"""Re-encrypt every stored file sealed under an old key (or the old format) with the current key; or count."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from core import rotation
from core.crypto import configured_key_ids, current_key_id


class Command(BaseCommand):
    help = (
        "Re-encrypts every stored file (members' documents and their segments, disarmed copies, quarantine, letter "
        "PDFs) that an older key of FILE_ENCRYPTION_KEYS, or the old file format, sealed, with the current (first) "
        "key. Resumable and idempotent: a rerun skips what is done. --per-second limits the pace; --census only "
        "counts stored objects per key id. Says which old keys seal nothing any more and can be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--census", action="store_true", help="only count stored objects per key id")
        parser.add_argument(
            "--per-second",
            type=float,
            default=20.0,
            help="re-encrypt at most this many objects per second (0: no limit)",
        )
        parser.add_argument(
            "--background", action="store_true", help="hand the run to a Celery worker (core.tasks.keys_rotate)"
        )

    def handle(self, *args, census: bool = False, per_second: float = 20.0, background: bool = False, **options):
        if per_second < 0:
            raise CommandError("--per-second must be 0 or more")
        if background:
            from core.tasks import keys_rotate

            keys_rotate.delay(per_second=per_second)
            self.stdout.write("key rotation handed to the worker (core.tasks.keys_rotate); it reports in its log")
            return
        if census:
            self._report(rotation.census())
            return
        total = rotation.row_count()
        shown = 0.0
        started = time.monotonic()

        def progress(result: rotation.RotationResult, rows_seen: int) -> None:
            nonlocal shown
            now = time.monotonic()
            if now - shown < 1 and rows_seen < total:
                return
            shown = now
            rate = result.rotated / max(now - started, 1e-9)
            width = 30
            filled = min(width, width * rows_seen // total) if total else width
            sys.stderr.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {rows_seen}/{total} rows, {result.checked} objects "
                f"checked, {result.rotated} re-encrypted ({rate:.1f}/s)"
            )
            sys.stderr.flush()

        result = rotation.rotate(per_second=per_second, progress=progress)
        seconds = time.monotonic() - started
        sys.stderr.write("\n")
        self.stdout.write(
            f"re-encrypted {result.rotated} of {result.checked} stored objects under key {current_key_id()!r} in "
            f"{seconds:.1f} s ({result.rotated / max(seconds, 1e-9):.1f} objects/s)"
        )
        if result.failed:
            self.stderr.write(f"{result.failed} objects did not decrypt and were left as they are")
        self._report(result.census)

    def _report(self, census: rotation.Census) -> None:
        current = current_key_id()
        self.stdout.write(
            f"{census.files} files, {census.segments} of the objects are segments of uploads; "
            f"{census.missing} missing, {census.unreadable} not encrypted files"
        )
        self.stdout.write(f"{'key id':<20} {'objects':>10} {'old format':>10}")
        for key_id in dict.fromkeys([*configured_key_ids(), *sorted(census.objects)]):
            note = " (current)" if key_id == current else ""
            if key_id not in configured_key_ids():
                note = " (NOT CONFIGURED: these objects cannot be read)"
            self.stdout.write(
                f"{key_id:<20} {census.objects.get(key_id, 0):>10} {census.first_format.get(key_id, 0):>10}{note}"
            )
        for key_id in rotation.removable_key_ids(census):
            self.stdout.write(
                self.style.SUCCESS(
                    f"key {key_id!r} seals no stored object: it can be removed from FILE_ENCRYPTION_KEYS"
                )
            )
        unknown = rotation.unknown_key_ids(census)
        if unknown:
            raise CommandError(
                "stored objects are sealed under keys that are not configured: "
                + ", ".join(f"{key_id!r} ({n})" for key_id, n in sorted(unknown.items()))
                + "; put the key back into FILE_ENCRYPTION_KEYS"
            )
