"""Benchmark: stored objects/s re-encrypted by the key rotation, and the census (header reads) per second.

    python bench/key_rotation.py [--objects 300] [--size-kib 2048] [--s3] [--autosave --per-second 20]

A throw-away test database (DATABASE_URL's server, or SQLite) and a temporary folder (or, with --s3, a bucket on
moto's S3 server started for the run); `--objects` stored files of `--size-kib` each (a member's upload request
is one segment of up to a few MB) sealed under key "a"; then key "b" becomes current and `core.rotation.rotate`
runs without a pace limit. Prints objects/s and MB/s with the load average of the machine.
With --autosave, a member's autosave (uploads.services.draft_autosave, the database write behind every autosave
request) is timed first alone, then while another process rotates at --per-second: p50 and p99 of each.
"""

import argparse
import multiprocessing
import os
import statistics
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
    parser.add_argument("--autosave", action="store_true")
    parser.add_argument("--per-second", type=float, default=20.0)
    parser.add_argument("--saves", type=int, default=400)
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
        if args.autosave:
            with override_settings(STORAGES=storages, FILE_ENCRYPTION_KEYS=[KEY_B, KEY_A]):
                autosave_during_rotation(args)
            return
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


def autosave_during_rotation(args) -> None:
    from django.db import connections

    from audit.services import Actor
    from core import rotation
    from tests.factories import MemberFactory
    from uploads.services import draft_autosave, draft_get_or_create

    member = MemberFactory()
    draft = draft_get_or_create(member=member)
    actor = Actor.member(member.user)

    def timed(n: int) -> list[float]:
        seconds = []
        for i in range(n):
            draft.refresh_from_db()
            started = time.perf_counter()
            draft_autosave(draft=draft, version=draft.version, fields={"message": f"Text {i}"}, actor=actor)
            seconds.append(time.perf_counter() - started)
            time.sleep(0.01)
        return seconds

    def p(values: list[float], q: int) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000

    alone = timed(args.saves)
    connections.close_all()
    child = multiprocessing.get_context("fork").Process(target=rotation.rotate, kwargs={"per_second": args.per_second})
    child.start()
    time.sleep(0.5)
    during = timed(args.saves)
    still_rotating = child.is_alive()
    child.join()
    load = os.getloadavg()[0]
    pace = f"{args.per_second:g} objects/s" if args.per_second else "no pace limit"
    print(
        f"autosave alone: p50 {p(alone, 50):.1f} ms, p99 {p(alone, 99):.1f} ms; during rotation at "
        f"{pace}, objects of {args.size_kib} KiB: p50 {p(during, 50):.1f} ms, p99 {p(during, 99):.1f} ms "
        f"(rotation still running at the end: {still_rotating}; load average 1 min {load:.1f}, {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
