"""Benchmark: stored objects/s re-encrypted by the key rotation, and the census (header reads) per second.

    python bench/key_rotation.py [--objects 300] [--size-kib 2048] [--s3]

A throw-away test database (DATABASE_URL's server, or SQLite) and a temporary folder (or, with --s3, a bucket on
moto's S3 server started for the run); `--objects` stored files of `--size-kib` each (a member's upload request
is one segment of up to a few MB) sealed under key "a"; then key "b" becomes current and `core.rotation.rotate`
runs without a pace limit. Prints objects/s and MB/s with the load average of the machine.
"""

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta

from _django import ROOT, setup_test_database

KEY_A = "a:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
KEY_B = "b:" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--size-kib", type=int, default=2048)
    parser.add_argument("--s3", action="store_true")
    args = parser.parse_args()
    teardown = setup_test_database()
    moto = None
    try:
        from django.conf import settings
        from django.test.utils import override_settings
        from django.utils import timezone

        from core import rotation
        from core.crypto import save_encrypted
        from core.storage import private_storage
        from uploads.models import QuarantinedFile

        if args.s3:
            sys.path.insert(0, str(ROOT))
            from tests.s3.conftest import CREDENTIALS, free_port, s3_client, s3_storages, start_moto

            os.environ.update(CREDENTIALS)
            port = free_port()
            moto = start_moto(port)
            endpoint = f"http://127.0.0.1:{port}"
            s3_client(endpoint).create_bucket(
                Bucket="bench", CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]}
            )
            storages = {**settings.STORAGES, **s3_storages(endpoint=endpoint, bucket="bench")}
        else:
            folder = tempfile.mkdtemp(prefix="bench-rotation-")
            storages = {
                **settings.STORAGES,
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": folder}},
            }
        with override_settings(STORAGES=storages, FILE_ENCRYPTION_KEYS=[KEY_A]):
            data = os.urandom(args.size_kib * 1024)
            for _ in range(args.objects):
                row = QuarantinedFile.objects.create(
                    name="f.pdf",
                    storage_name=f"bench/{uuid.uuid4()}.enc",
                    signature="bench",
                    delete_after=timezone.now() + timedelta(days=1),
                )
                save_encrypted(storage=private_storage(), name=row.storage_name, chunks=[data], aad=row.aad)
            started = time.monotonic()
            census = rotation.census()
            census_seconds = time.monotonic() - started
            assert census.objects == {"a": args.objects}
        with override_settings(STORAGES=storages, FILE_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
            load_before = os.getloadavg()
            started = time.monotonic()
            result = rotation.rotate(per_second=0)
            seconds = time.monotonic() - started
            load_after = os.getloadavg()
            assert result.rotated == args.objects and result.census.objects == {"b": args.objects}
        where = "S3 (moto)" if args.s3 else "local folder"
        megabytes = args.objects * args.size_kib / 1024
        print(f"storage: {where}; {args.objects} objects of {args.size_kib} KiB")
        print(f"census: {args.objects / census_seconds:.0f} objects/s (header reads only)")
        print(
            f"rotation: {result.rotated / seconds:.1f} objects/s, {megabytes / seconds:.1f} MB/s "
            f"({seconds:.1f} s); load average 1 min {load_before[0]:.1f} before, {load_after[0]:.1f} after "
            f"({os.cpu_count()} cores)"
        )
    finally:
        if moto is not None:
            moto.terminate()
        teardown()


if __name__ == "__main__":
    main()
