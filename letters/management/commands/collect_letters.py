"""Collect the letters ready for print into a folder (<batch>.pdf and <batch>.csv), for an automated pickup."""

import os
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from letters.constants import PRINT_BATCH_MAX, BatchChannel
from letters.services import batch_collect


class Command(BaseCommand):
    help = "Collect letters ready for print into a folder: one merged PDF and its manifest CSV per batch."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, type=Path, help="folder to write the batch into")
        parser.add_argument(
            "--limit",
            type=int,
            default=PRINT_BATCH_MAX,
            help=f"at most this many letters (default {PRINT_BATCH_MAX})",
        )
        parser.add_argument("--user", help="username to record as collector (default: the system)")

    def handle(self, *args, out: Path, limit: int, user: str | None, **options):
        if not out.is_dir():
            raise CommandError(f"{out} is not a folder")
        if not 1 <= limit <= PRINT_BATCH_MAX:
            raise CommandError(f"--limit must be between 1 and {PRINT_BATCH_MAX}")
        collector = None
        if user:
            collector = get_user_model().objects.filter(username=user, is_active=True).first()
            if collector is None or not collector.has_perm("letters.collect_letters"):
                raise CommandError(f"{user!r} is no active user with the right to collect letters")
        # Written under temporary names and renamed only once the batch is committed, so a pickup never sees a
        # half-written file, and a failure leaves the letters in the queue.
        pdf_tmp = tempfile.NamedTemporaryFile(dir=out, prefix=".batch-", suffix=".pdf.part", delete=False)  # noqa: SIM115
        csv_tmp = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w", dir=out, prefix=".batch-", suffix=".csv.part", delete=False, encoding="utf-8", newline=""
        )
        try:
            with transaction.atomic(), pdf_tmp, csv_tmp:
                batch = batch_collect(
                    user=collector, pdf_out=pdf_tmp, manifest_out=csv_tmp, limit=limit, channel=BatchChannel.FOLDER
                )
                for handle in (pdf_tmp, csv_tmp):
                    handle.flush()
                    os.fsync(handle.fileno())
        except BaseException:
            for handle in (pdf_tmp, csv_tmp):
                Path(handle.name).unlink(missing_ok=True)
            raise
        if batch is None:
            for handle in (pdf_tmp, csv_tmp):
                Path(handle.name).unlink(missing_ok=True)
            self.stdout.write("No letters ready for print.")
            return
        os.replace(pdf_tmp.name, out / f"{batch.reference}.pdf")
        os.replace(csv_tmp.name, out / f"{batch.reference}.csv")
        self.stdout.write(
            self.style.SUCCESS(f"{batch.reference}: {batch.letter_count} letters, {batch.page_count} pages -> {out}")
        )
