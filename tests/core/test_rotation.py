"""core.rotation on local storage: census per key id, rotation killed half-way under a running upload and resumed,
plaintexts unchanged; the command's report; check --deploy refuses a removed key that still seals files."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from core import checks, rotation
from core.crypto import save_encrypted
from core.storage import exists, private_storage
from tests.core.rotation_scenario import KEY_A, KEY_B, run_drill
from uploads.models import QuarantinedFile, Upload
from uploads.services import draft_get_or_create

pytestmark = pytest.mark.django_db


def test_every_model_with_a_stored_file_is_found():
    labels = [model._meta.label for model in rotation.encrypted_file_models()]
    assert labels == [
        "letters.LetterLayer",
        "letters.LetterRequest",
        "uploads.DocumentPage",  # a photo document's pages until their PDF is assembled
        "uploads.QuarantinedFile",
        "uploads.RenderedPage",  # the viewer's rendered pages are rotated like every stored file
        "uploads.SubmissionDocument",
        "uploads.Upload",
    ]


def test_rotation_killed_half_way_under_a_running_upload_resumes_and_keeps_every_plaintext(
    settings,
    member,
    request_letter,
    monkeypatch,
):
    run_drill(settings=settings, member=member, request_letter=request_letter, monkeypatch=monkeypatch)


def test_the_command_counts_rotates_and_says_when_a_key_can_go(settings, member, request_letter, capsys):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    request_letter(member)
    call_command("rotate_keys", "--census")
    out = capsys.readouterr().out
    assert "a                             1          0 (current)" in out
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    call_command("rotate_keys", "--per-second", "50")
    captured = capsys.readouterr()
    assert "re-encrypted 1 of 1 stored objects under key 'b'" in captured.out
    assert "key 'a' seals no stored object: it can be removed" in captured.out
    assert "1/1 rows" in captured.err  # the progress line
    assert cache.get(rotation.CENSUS_CACHE_KEY)["objects"] == {"b": 1}


def test_the_command_hands_the_run_to_the_worker(settings, member, request_letter, capsys):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    request_letter(member)
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    call_command("rotate_keys", "--background")  # eager in the tests: the task runs here
    assert "handed to the worker" in capsys.readouterr().out
    assert rotation.census().objects == {"b": 1}


def test_a_removed_key_that_still_seals_files_is_refused(settings, member, request_letter):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    request_letter(member)
    settings.FILE_ENCRYPTION_KEYS = [KEY_B]  # "a" removed before rotating
    problems = checks.key_census(None)
    assert [problem.id for problem in problems] == ["core.E003"]
    assert "'a'" in problems[0].msg
    with pytest.raises(CommandError, match="not configured"):
        call_command("rotate_keys", "--census")
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    rotation.rotate()
    settings.FILE_ENCRYPTION_KEYS = [KEY_B]
    assert checks.key_census(None) == []


def test_a_file_that_does_not_decrypt_is_left_and_counted(settings, member, request_letter):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    letter = request_letter(member)
    save_encrypted(storage=private_storage(), name=letter.storage_name, chunks=[b"x"], aad=b"letter:other")
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    result = rotation.rotate()
    assert result.failed == 1 and result.rotated == 0


def test_metrics_show_stored_objects_per_key_id_from_the_last_census(client, settings, member, request_letter):
    settings.METRICS_TOKEN = "metrics-token-for-tests-0123456789"
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    request_letter(member)

    def scrape() -> str:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
        assert response.status_code == 200
        return response.content.decode()

    cache.delete(rotation.CENSUS_CACHE_KEY)
    assert "portal_stored_objects{" not in scrape()  # no census taken yet
    rotation.census()
    assert 'portal_stored_objects{key_id="a"} 1.0' in scrape()
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    rotation.rotate()
    text = scrape()
    assert 'portal_stored_objects{key_id="b"} 1.0' in text and 'key_id="a"' not in text
    assert 'portal_scrape_error{part="keys"} 0.0' in text


def test_the_daily_task_rotates_and_is_in_the_beat_schedule(settings, member, request_letter):
    from core.tasks import keys_rotate

    assert "core.tasks.keys_rotate" in [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    request_letter(member)
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    assert keys_rotate.delay(per_second=0).get() == {"checked": 1, "rotated": 1, "failed": 0}
    assert rotation.census().objects == {"b": 1}


def test_an_object_whose_row_went_is_deleted_unless_another_row_shares_it(settings, member):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    later = timezone.now() + timedelta(days=1)
    rows = [
        QuarantinedFile.objects.create(name="f.pdf", storage_name=name, signature="x", delete_after=later)
        for name in ("quarantine/gone.enc", "quarantine/shared.enc")
    ]
    for row in rows:
        save_encrypted(storage=private_storage(), name=row.storage_name, chunks=[b"data"], aad=row.aad)
    gone, shared = rows
    # An upload shares the second file, as a document shares its upload's: same uuid, same stored name.
    Upload.objects.create(
        draft=draft_get_or_create(member=member),
        public_id=shared.public_id,
        name="f.pdf",
        storage_name=shared.storage_name,
        length=4,
        expires_at=later,
    )
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    objects = {stored.name: stored for stored in rotation.stored_objects()}
    QuarantinedFile.objects.filter(pk__in=[gone.pk, shared.pk]).delete()  # their rows went during the rotation
    for name in ("quarantine/gone.enc", "quarantine/shared.enc"):
        rotation._reencrypt(private_storage(), objects[name])
    assert not exists(private_storage(), "quarantine/gone.enc")
    assert exists(private_storage(), "quarantine/shared.enc")
    assert b"".join(Upload.objects.get(public_id=shared.public_id).open()) == b"data"


@pytest.mark.slow(8)
@pytest.mark.django_db(transaction=True)
def test_the_command_killed_mid_run_leaves_every_object_whole_and_the_next_run_finishes(settings, tmp_path):
    import hashlib
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the command runs in its own process, which needs a database server (DATABASE_URL)")
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    later = timezone.now() + timedelta(days=1)
    before = {}
    for i in range(16):
        row = QuarantinedFile.objects.create(
            name="f.pdf", storage_name=f"quarantine/{i}.enc", signature="x", delete_after=later
        )
        data = os.urandom(512 * 1024 + i)
        save_encrypted(storage=private_storage(), name=row.storage_name, chunks=[data], aad=row.aad)
        before[row.pk] = hashlib.sha256(data).hexdigest()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "PRIVATE_MEDIA_ROOT": settings.STORAGES["default"]["OPTIONS"]["location"],
        "FILE_ENCRYPTION_KEYS": f"{KEY_B},{KEY_A}",
    }
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rotate_keys", "--per-second", "4"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while rotation.census(remember=False).objects.get("b", 0) < 3:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)  # killed mid-run, as by the OOM killer or a node going away
    finally:
        process.kill()
        process.wait(timeout=10)
    half = rotation.census(remember=False)
    assert half.unreadable == 0 and half.missing == 0
    assert 3 <= half.objects["b"] < 16 and half.objects["a"] + half.objects["b"] == 16
    result = rotation.rotate()
    assert result.rotated == half.objects["a"]
    assert rotation.census().objects == {"b": 16}
    after = {row.pk: hashlib.sha256(b"".join(row.open())).hexdigest() for row in QuarantinedFile.objects.all()}
    assert after == before


def test_a_run_cut_by_its_time_budget_goes_on_after_the_last_row_done(settings, monkeypatch):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    later = timezone.now() + timedelta(days=1)
    for i in range(5):
        row = QuarantinedFile.objects.create(
            name="f.pdf", storage_name=f"quarantine/{i}.enc", signature="x", delete_after=later
        )
        save_encrypted(storage=private_storage(), name=row.storage_name, chunks=[b"data"], aad=row.aad)
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(rotation, "_clock", lambda: next(clock))  # 10 s pass per look at the clock
    first = rotation.rotate(max_seconds=25)
    assert not first.finished and first.rotated == 2
    assert first.position == ("uploads.QuarantinedFile", QuarantinedFile.objects.order_by("pk")[1].pk)
    headers = []
    real_read = rotation.read_header
    monkeypatch.setattr(rotation, "read_header", lambda storage, name: headers.append(name) or real_read(storage, name))
    rest = rotation.rotate(start_after=first.position)
    assert rest.finished and rest.rotated == 3 and len(headers) == 3  # the first two rows are not read again
    assert rotation.census().objects == {"b": 5}


def test_the_task_hands_on_to_the_next_run_after_its_time_budget(settings, monkeypatch):
    from core import tasks

    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    later = timezone.now() + timedelta(days=1)
    for i in range(4):
        row = QuarantinedFile.objects.create(
            name="f.pdf", storage_name=f"quarantine/{i}.enc", signature="x", delete_after=later
        )
        save_encrypted(storage=private_storage(), name=row.storage_name, chunks=[b"data"], aad=row.aad)
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    clock = iter(range(0, 10_000, 100))
    monkeypatch.setattr(rotation, "_clock", lambda: next(clock))  # 100 s per look: one row per run
    monkeypatch.setattr(tasks, "RUN_SECONDS", 150)
    runs = []
    real_rotate = rotation.rotate
    monkeypatch.setattr(
        rotation, "rotate", lambda **kwargs: runs.append(kwargs["start_after"]) or real_rotate(**kwargs)
    )
    cache.delete(rotation.CENSUS_CACHE_KEY)
    tasks.keys_rotate.delay(per_second=0)  # eager: each run queues the next one here
    assert len(runs) >= 3 and runs[0] is None and all(runs[1:])
    assert rotation.census(remember=False).objects == {"b": 4}
    assert cache.get(rotation.CENSUS_CACHE_KEY)["objects"] == {"b": 4}
