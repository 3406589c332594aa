"""Backup and restore (ops/backup.py, `manage.py backup` / `restore`): the drill, and every refusal.

The drill builds a portal (members with PINs, a draft with a file, a transmitted submission, a letter in the
print queue), backs it up, restores it into a fresh database and a fresh folder or bucket, and then the member
logs in with the same PIN and finds the draft, the case worker downloads the same document and the print shop
collects the same letter. Runs on the configured database (PostgreSQL in CI, SQLite in the embedded mode), with
local storage and with moto's S3 server.
"""

import contextlib
import hashlib
import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from audit.services import Actor
from core.crypto import read_decrypted
from letters.models import LetterRequest
from members.models import Member
from pins.services import pin_issue
from staff.constants import Role
from tests.factories import MemberFactory
from tests.s3.conftest import CREDENTIALS, s3_client, s3_storages
from tests.staff.factories import make_staff, transmitted_submission, verified_client
from tests.uploads.factories import SubmissionReasonFactory, pdf_bytes
from tests.web.conftest import login_post
from uploads import services as uploads_services

pytestmark = pytest.mark.django_db(transaction=True)

DRAFT_MESSAGE = "Bitte die Bescheinigung vom März beachten."


def local_storages(root: Path) -> dict:
    return {
        alias: {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root / alias), "base_url": None},
        }
        for alias in ("default",)
    }


@pytest.fixture(params=["local", "s3"])
def storage_kind(request, settings, tmp_path):
    """The portal's storages on local folders or on a bucket of moto's S3 server; returns a fresh-target maker."""
    if request.param == "local":
        settings.STORAGES = {**settings.STORAGES, **local_storages(tmp_path / "live")}
        return lambda: local_storages(tmp_path / "restored")
    endpoint = request.getfixturevalue("moto_endpoint")
    request.getfixturevalue("bucket")

    def fresh_bucket() -> dict:
        name = f"restored-{uuid.uuid4().hex[:12]}"
        s3_client(endpoint).create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]}
        )
        return s3_storages(endpoint=endpoint, bucket=name)

    return fresh_bucket


@contextlib.contextmanager
def fresh_database():
    """Point the default connection at a new, empty database for the block; the test database stays as it was."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        restored = f"{name}_restored"[:63]
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}"')
            cursor.execute(f'CREATE DATABASE "{restored}"')
        connection.close()
        connection.settings_dict["NAME"] = restored
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["NAME"] = name
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{restored}"')
        return
    # SQLite: the test database lives in memory and vanishes when its connection closes, so it is set aside
    # (not closed) while a database file stands in for it.
    connection.ensure_connection()
    kept, connection.connection = connection.connection, None
    folder = Path(django_settings.VAR_DIR) / "test-restore"
    folder.mkdir(exist_ok=True)
    restored = folder / f"{uuid.uuid4().hex}.sqlite3"
    connection.settings_dict["NAME"] = str(restored)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
        connection.connection = kept
        restored.unlink(missing_ok=True)


def collected_letter_text(client: Client) -> str:
    response = client.post(reverse("letters:collect"), {"limit": "500"})
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as bundle:
        pdf = next(bundle.read(name) for name in bundle.namelist() if name.endswith(".pdf"))
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def document_download(client: Client, submission) -> dict[str, str]:
    """SHA-256 of every document of the submission as the case worker downloads it."""
    digests = {}
    for document in submission.documents.all():
        response = client.get(reverse("staff:document", args=[submission.reference, document.public_id]))
        assert response.status_code == 200
        digests[document.name] = hashlib.sha256(b"".join(response.streaming_content)).hexdigest()
    return digests


def letter_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def build_portal(request_letter):
    """Members with PINs, a draft with a file, a transmitted submission, a letter waiting for the print shop."""
    drafter = MemberFactory()
    issued = pin_issue(member=drafter, purpose="Bescheinigung", actor=Actor.system())
    actor = Actor.member(drafter.user)
    draft = uploads_services.draft_get_or_create(member=drafter)
    reason = SubmissionReasonFactory(code="certificate")
    uploads_services.draft_autosave(
        draft=draft, version=draft.version, fields={"reason": reason, "message": DRAFT_MESSAGE}, actor=actor
    )
    draft_file = pdf_bytes(padding=150_000)
    upload = uploads_services.upload_create(draft=draft, name="Bescheinigung.pdf", length=len(draft_file), actor=actor)
    uploads_services.upload_append(
        upload=upload, offset=0, stream=io.BytesIO(draft_file), content_length=len(draft_file), actor=actor
    )

    sender = MemberFactory()
    pin_issue(member=sender, purpose="Antrag", actor=Actor.system())
    document = pdf_bytes(padding=200_000)
    submission = transmitted_submission(sender, files={"Antrag.pdf": document})

    letter = request_letter(MemberFactory())
    assert letter.pdf_name
    return drafter, issued, submission, letter, [draft_file, document]


@pytest.mark.slow(6)
def test_drill_backup_then_restore_into_a_fresh_database_and_storage(
    storage_kind, request_letter, tmp_path, capsys, settings
):
    drafter, issued, submission, letter, plaintexts = build_portal(request_letter)
    case_worker = verified_client(make_staff(Role.CASE_WORKER))
    print_shop = verified_client(make_staff(Role.PRINT_SHOP))
    downloaded = document_download(case_worker, submission)
    assert downloaded == {document.name: document.sha256 for document in submission.documents.all()}
    letter_before = letter_text(read_decrypted(storage=storages["default"], name=letter.pdf_name, aad=letter.aad))

    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    assert "NOT in this backup" in capsys.readouterr().out

    # The backup holds no key and no readable document: the objects are copied as stored (encrypted).
    key_material = [entry.partition(":")[2].encode() for entry in django_settings.FILE_ENCRYPTION_KEYS]
    copies = [path for path in out.rglob("*") if path.is_file()]
    for path in copies:
        content = path.read_bytes()
        assert not any(key in content for key in key_material), path
        if "objects" in path.relative_to(out).parts:
            assert b"%PDF" not in content and not any(plain[-4096:] in content for plain in plaintexts), path
    manifest = json.loads((out / "manifest.json").read_text())
    current_key_id = django_settings.FILE_ENCRYPTION_KEYS[0].partition(":")[0]
    assert set(manifest["key_ids"]) == {current_key_id}
    assert sum(len(entries) for entries in manifest["objects"].values()) == manifest["key_ids"][current_key_id] >= 3

    fresh_storages = storage_kind()
    with fresh_database():
        settings.STORAGES = {**settings.STORAGES, **fresh_storages}
        call_command("restore", "--from", str(out))
        assert "restored:" in capsys.readouterr().out
        cache.clear()  # a recovered site starts with an empty cache: nothing below may come from it

        member_browser = Client()
        response = login_post(member_browser, kvnr=drafter.kvnr, pin=issued.plaintext)
        assert response.status_code == 302 and response["Location"] == reverse("web:dashboard")
        page = member_browser.get(reverse("uploads:draft")).content.decode()
        assert DRAFT_MESSAGE in page and "Bescheinigung.pdf" in page

        restored_submission = Member.objects.get(pk=submission.member_id).submissions.get()
        assert document_download(case_worker, restored_submission) == downloaded

        assert letter_before in collected_letter_text(print_shop)
        assert LetterRequest.objects.get(pk=letter.pk).collected_at is not None


# Refusals: never next to the keys, never over data, never from a damaged backup.


@pytest.mark.django_db
def test_backup_inside_the_project_folder_that_holds_the_keys_is_refused(settings):
    out = Path(settings.BASE_DIR) / "var" / f"backup-{uuid.uuid4().hex}"
    with pytest.raises(CommandError, match="holds the encryption keys"):
        call_command("backup", "--out", str(out))
    assert not out.exists()


@pytest.mark.django_db
def test_backup_beside_an_env_file_is_refused(tmp_path):
    (tmp_path / ".env").write_text("FILE_ENCRYPTION_KEYS=...\n")
    out = tmp_path / "backups" / "today"
    with pytest.raises(CommandError, match=r"\.env file"):
        call_command("backup", "--out", str(out))
    assert not out.exists()


@pytest.mark.django_db
def test_backup_into_a_folder_that_is_not_empty_is_refused(tmp_path):
    out = tmp_path / "backup"
    out.mkdir()
    (out / "older.dump").write_bytes(b"x")
    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("backup", "--out", str(out))
    assert [path.name for path in out.iterdir()] == ["older.dump"]


def test_restore_into_a_database_that_is_not_empty_is_refused_and_changes_nothing(tmp_path, settings):
    member = MemberFactory()
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    settings.STORAGES = {**settings.STORAGES, **local_storages(tmp_path / "other")}
    with pytest.raises(CommandError, match=r"is not empty .* restore only into an empty database"):
        call_command("restore", "--from", str(out))
    assert list(Member.objects.values_list("pk", flat=True)) == [member.pk]
    assert not (tmp_path / "other").exists()


def test_restore_into_a_storage_that_is_not_empty_is_refused_before_the_database_is_touched(tmp_path, settings):
    transmitted_submission(MemberFactory(), files={"a.pdf": pdf_bytes()})
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    target = local_storages(tmp_path / "used")
    Path(target["default"]["OPTIONS"]["location"], "documents").mkdir(parents=True)
    Path(target["default"]["OPTIONS"]["location"], "documents", "someone-elses").write_bytes(b"data")
    with fresh_database():
        settings.STORAGES = {**settings.STORAGES, **target}
        with pytest.raises(CommandError, match=r"'default' storage .* is not empty"):
            call_command("restore", "--from", str(out))
        assert connection.introspection.table_names() == []


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path, settings):
    transmitted_submission(MemberFactory(), files={"a.pdf": pdf_bytes()})
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    copy = next(path for path in (out / "objects").rglob("*") if path.is_file())
    damaged = bytearray(copy.read_bytes())
    damaged[len(damaged) // 2] ^= 1
    copy.write_bytes(bytes(damaged))
    target = local_storages(tmp_path / "restored")
    with fresh_database():
        settings.STORAGES = {**settings.STORAGES, **target}
        with pytest.raises(CommandError, match="is damaged"):
            call_command("restore", "--from", str(out))
        assert connection.introspection.table_names() == []
    assert not (tmp_path / "restored").exists()


def test_a_manifest_backup_restores_with_the_bucket_restored_by_its_own_means(
    moto_endpoint, bucket, tmp_path, settings, capsys
):
    submission = transmitted_submission(MemberFactory(), files={"Antrag.pdf": pdf_bytes(padding=50_000)})
    case_worker = verified_client(make_staff(Role.CASE_WORKER))
    downloaded = document_download(case_worker, submission)
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), "--objects", "manifest")
    assert not (out / "objects").exists()
    listed = json.loads((out / "manifest.json").read_text())["objects"]["default"]
    assert listed and all(entry["etag"] and entry["size"] > 0 for entry in listed)

    client = s3_client(moto_endpoint)
    replica = f"replica-{uuid.uuid4().hex[:12]}"
    client.create_bucket(
        Bucket=replica, CreateBucketConfiguration={"LocationConstraint": CREDENTIALS["AWS_DEFAULT_REGION"]}
    )
    with fresh_database():
        settings.STORAGES = {**settings.STORAGES, **s3_storages(endpoint=moto_endpoint, bucket=replica)}
        # The bucket's own backup has not been restored yet: refused, and the database stays empty.
        with pytest.raises(CommandError, match="objects missing"):
            call_command("restore", "--from", str(out))
        assert connection.introspection.table_names() == []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for entry in page.get("Contents", ()):
                client.copy_object(Bucket=replica, Key=entry["Key"], CopySource={"Bucket": bucket, "Key": entry["Key"]})
        call_command("restore", "--from", str(out))
        assert "found in the storage" in capsys.readouterr().out
        restored = Member.objects.get(pk=submission.member_id).submissions.get()
        assert document_download(case_worker, restored) == downloaded


def test_a_backup_that_fails_half_way_leaves_no_folder_behind(tmp_path, monkeypatch):
    from ops import backup as backup_module

    transmitted_submission(MemberFactory(), files={"a.pdf": pdf_bytes()})

    def storage_gone(*args, **kwargs):
        raise OSError("object store unreachable")

    monkeypatch.setattr(backup_module, "_copy_object", storage_gone)
    out = tmp_path / "backup"
    with pytest.raises(CommandError, match="object store unreachable"):
        call_command("backup", "--out", str(out))
    assert not out.exists()


def test_a_backup_of_a_newer_release_is_refused(tmp_path):
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["migrations"].append("uploads.9999_from_the_future")
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="made by a newer release"):
        call_command("restore", "--from", str(out))
