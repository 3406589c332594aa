"""Benchmark for backup and restore (ops.backup, `manage.py backup` / `restore`): seconds for N members and M MB.

Run by hand from the project folder (small by default; the figure in docs/operations.md was 10,000 members with
1 GB of documents):

    .venv/bin/python bench/backup.py [--members 500] [--documents-mb 50] [--document-kb 1024] [--s3]

It creates a throw-away test database on DATABASE_URL's server (PostgreSQL; SQLite without DATABASE_URL) and a
temporary storage folder (or, with --s3, a bucket on moto's S3 server), seeds members (each with a user and a
PIN; one real Argon2 hash shared by all rows, bench data only) and documents of random bytes written through
core.crypto.save_encrypted (encrypted as the portal stores them), then backs up into a temporary folder and
restores into a second fresh database and an empty folder (or bucket), timing each phase. The objects carry no
upload rows: the backup copies every stored object whatever refers to it, so the bytes decide the object phase.
The load average is printed before and after; the machine is shared, so figures vary with it.
"""

import argparse
import datetime
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._django import setup_test_database


def seed(*, members: int, documents_mb: int, document_kb: int) -> tuple[int, int]:
    from django.core.files.storage import storages
    from django.db import transaction
    from django.utils import timezone

    from audit.services import Actor
    from bench._members import bench_members_bulk_create
    from core.crypto import save_encrypted
    from pins.models import LetterPin
    from pins.services import pin_issue

    batch = 1000
    first_pin = None
    for start in range(0, members, batch):
        with transaction.atomic():
            created = bench_members_bulk_create(first=start, count=min(batch, members - start), kvnr_letter="R")
            if first_pin is None:
                first_pin = pin_issue(member=created[0], purpose="Bench", actor=Actor.system()).pin
                created = created[1:]
            now = timezone.now()
            LetterPin.objects.bulk_create(
                LetterPin(
                    user=member.user,
                    name="PIN",
                    member=member,
                    selector=secrets.token_hex(2),
                    pin_hash=first_pin.pin_hash,
                    purpose="Bench",
                    issued_at=now,
                    expires_at=now + datetime.timedelta(days=60),
                )
                for member in created
            )
    total, count, size = documents_mb * 2**20, 0, document_kb * 1024
    written = 0
    while written < total:
        piece = min(size, total - written)
        save_encrypted(
            storage=storages["default"],
            name=f"documents/{uuid.uuid4()}/000000000000",
            chunks=(os.urandom(min(2**20, piece - offset)) for offset in range(0, piece, 2**20)),
            aad=b"bench",
        )
        written += piece
        count += 1
    return count, written


def use_storages(configured: dict) -> None:
    """Point the portal's storages at `configured` (Django caches them per alias)."""
    from django.conf import settings
    from django.core.files.storage import storages

    settings.STORAGES = configured
    storages.__dict__.pop("backends", None)  # a cached_property
    storages._backends = None
    storages._storages = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--documents-mb", type=int, default=50)
    parser.add_argument("--document-kb", type=int, default=1024, help="size of each document")
    parser.add_argument("--s3", action="store_true", help="store on moto's S3 server instead of a local folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        # Its own database names (test_<name>_bench, ..._restored), so no test run's database is clobbered.
        os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].split("?")[0].rstrip("/") + "_bench"
    os.environ.setdefault("PORTAL_VAR_DIR", str(work / "var"))
    os.environ["PRIVATE_MEDIA_ROOT"] = str(work / "live" / "default")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    moto = None
    import django

    django.setup()  # tests.s3.conftest imports models
    if args.s3:
        from tests.s3.conftest import CREDENTIALS, free_port, s3_client, start_moto

        port = free_port()
        moto = start_moto(port)
        endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(CREDENTIALS)
        for bucket in ("bench-live", "bench-restored"):
            s3_client(endpoint).create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]}
            )
    teardown = setup_test_database()
    from django.conf import settings
    from django.db import connection

    from ops.backup import backup_create, backup_restore

    if args.s3:
        from tests.s3.conftest import s3_storages

        use_storages({**settings.STORAGES, **s3_storages(endpoint=endpoint, bucket="bench-live")})
    restored_name = None
    original = connection.settings_dict["NAME"]
    try:
        print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())} ({os.cpu_count()} CPUs)")
        started = time.monotonic()
        count, written = seed(members=args.members, documents_mb=args.documents_mb, document_kb=args.document_kb)
        print(
            f"seeded {args.members} members with PINs and {count} documents ({written / 2**20:.0f} MiB) in "
            f"{time.monotonic() - started:.1f} s on {connection.vendor}, {'S3 (moto)' if args.s3 else 'local disk'}"
        )

        started = time.monotonic()
        backup = backup_create(out=work / "backup")
        backup_seconds = time.monotonic() - started
        print(
            f"backup:  {backup_seconds:6.1f} s  (database {backup.database_seconds:.1f} s, "
            f"{backup.database_bytes / 2**20:.1f} MiB dump; objects {backup.objects_seconds:.1f} s, {backup.objects} "
            f"objects, {backup.object_bytes / 2**20:.0f} MiB)"
        )

        # A second fresh database and empty storage, as after losing the first.
        if connection.vendor == "postgresql":
            restored_name = f"{original}_restored"
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{restored_name}"')
                cursor.execute(f'CREATE DATABASE "{restored_name}"')
        else:
            restored_name = str(work / "restored.sqlite3")
        connection.close()
        connection.settings_dict["NAME"] = restored_name
        if args.s3:
            use_storages({**settings.STORAGES, **s3_storages(endpoint=endpoint, bucket="bench-restored")})
        else:
            for alias in ("default",):
                settings.STORAGES[alias]["OPTIONS"]["location"] = str(work / "restored" / alias)
        use_storages(settings.STORAGES)
        started = time.monotonic()
        restore = backup_restore(source=work / "backup")
        restore_seconds = time.monotonic() - started
        print(
            f"restore: {restore_seconds:6.1f} s  (backup checked {restore.verify_seconds:.1f} s, database "
            f"{restore.database_seconds:.1f} s, objects {restore.objects_seconds:.1f} s)"
        )
        from members.models import Member

        assert Member.objects.count() == args.members
        connection.close()
        connection.settings_dict["NAME"] = original
        print(f"load average after:  {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original
        if connection.vendor == "postgresql" and restored_name:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{restored_name}"')
        teardown()
        shutil.rmtree(work, ignore_errors=True)
        if moto is not None:
            moto.terminate()


if __name__ == "__main__":
    main()
