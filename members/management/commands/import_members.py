"""Import members from a CSV file: all rows or none, every bad row reported with its line number."""

import csv
import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from members.services import REQUIRED_COLUMNS, MemberImportError, member_import_rows


class Command(BaseCommand):
    help = (
        "Import members from CSV (UTF-8, comma or semicolon separated, header row). Columns: "
        "kvnr, first_name, last_name, street, postcode, town, egk_valid_until (YYYY-MM-DD or DD.MM.YYYY), "
        "optional address_line, language. Existing KVNRs are updated."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text), dialect=dialect)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in REQUIRED_COLUMNS if name not in header]
        if missing:
            raise CommandError(f"Line 1: missing column(s): {', '.join(missing)}")
        reader.fieldnames = header
        try:
            report = member_import_rows(rows=((reader.line_num, row) for row in reader))
        except MemberImportError as error:
            for line, reason in error.errors:
                self.stderr.write(f"Line {line}: {reason}")
            raise CommandError(f"{len(error.errors)} bad row(s); nothing was imported.") from error
        except csv.Error as error:
            raise CommandError(f"Line {reader.line_num}: {error}; nothing was imported.") from error
        self.stdout.write(f"Imported {report.created} new and updated {report.updated} existing member(s).")
