"""The rotation drill shared by the local and the S3 tests: stored files of every kind under key "a" (some in the
first format), then key "b" made current; a rotation killed half-way while a member's upload goes on, run again;
every plaintext compared with its SHA-256 from before."""

import hashlib
import io
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.services import Actor
from core import rotation
from core.crypto import decrypt_stream, header_of, save_encrypted
from core.segments import segment_aad
from core.storage import open_read, private_storage, write_stream
from tests.core.epf1 import epf1_bytes
from uploads import services
from uploads.models import QuarantinedFile, Upload

KEY_A = "a:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
KEY_B = "b:" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def _append(upload: Upload, data: bytes, actor: Actor) -> Upload:
    upload.refresh_from_db()
    return services.upload_append(
        upload=upload, offset=upload.offset, stream=io.BytesIO(data), content_length=len(data), actor=actor
    )


def _to_first_format(name: str, aad: bytes) -> None:
    """Rewrite a stored object as the portal wrote it before per-file keys (EPF1, under key "a")."""
    storage = private_storage()
    with open_read(storage, name) as src:
        plain = b"".join(decrypt_stream(src, aad=aad))
    write_stream(storage, name, [epf1_bytes(plain, key_entry=KEY_A, aad=aad)])


def plaintexts() -> dict[tuple[str, int], str]:
    """SHA-256 of every stored file's plaintext, by (model, pk)."""
    found = {}
    for model in rotation.encrypted_file_models():
        for row in model._default_manager.all():
            if rotation.files_of(row):
                found[(model._meta.label, row.pk)] = hashlib.sha256(b"".join(row.open())).hexdigest()
    return found


def run_drill(*, settings, member, request_letter, monkeypatch) -> None:
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    actor = Actor.member(member.user)
    draft = services.draft_get_or_create(member=member)
    parts = [PDF_HEAD + os.urandom(3000), os.urandom(4000), os.urandom(5000), os.urandom(2000)]
    upload = services.upload_create(draft=draft, name="scan.pdf", length=sum(map(len, parts)) + 10_000, actor=actor)
    for part in parts[:3]:
        upload = _append(upload, part, actor)
    # The first segment as the portal wrote it before per-file keys.
    first = upload.segments[0]["key"]
    _to_first_format(f"{upload.storage_name}{first}", segment_aad(upload.aad, first))
    quarantined = QuarantinedFile.objects.create(
        name="virus.pdf",
        storage_name="quarantine/q1.enc",
        member=member,
        signature="Eicar-Test-Signature",
        delete_after=timezone.now() + timedelta(days=30),
    )
    save_encrypted(storage=private_storage(), name=quarantined.storage_name, chunks=[b"X5O!P%"], aad=quarantined.aad)
    _to_first_format(quarantined.storage_name, quarantined.aad)
    letter = request_letter(member)
    assert letter.pdf_name

    before = plaintexts()
    census = rotation.census()
    assert census.objects == {"a": 5} and census.first_format == {"a": 2}, census  # 3 segments, quarantine, letter
    assert census.segments == 3 and census.files == 3

    # "b" becomes current; "a" still decrypts.
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    rewritten = []
    real_save = rotation.save_encrypted

    def dies_after_two(**kwargs):
        if len(rewritten) == 2:
            raise RuntimeError("killed half-way")
        rewritten.append(kwargs["name"])
        return real_save(**kwargs)

    monkeypatch.setattr(rotation, "save_encrypted", dies_after_two)
    appended = []

    def member_goes_on(result, rows_seen):
        if not appended:  # the member's next request arrives while the rotation runs
            appended.append(_append(upload, parts[3], actor))

    with pytest.raises(RuntimeError, match="killed"):
        rotation.rotate(progress=member_goes_on)
    monkeypatch.setattr(rotation, "save_encrypted", real_save)
    half = rotation.census(remember=False)
    assert half.objects["b"] == 3 and half.objects["a"] == 3  # two rotated, plus the member's new segment

    result = rotation.rotate()
    assert result.rotated == 3 and result.finished
    again = rotation.rotate()
    assert again.rotated == 0  # idempotent: a rerun finds nothing to do

    after = rotation.census()
    assert after.objects == {"b": 6} and not after.first_format
    assert rotation.removable_key_ids(after) == ["a"]
    upload.refresh_from_db()
    assert len(upload.segments) == 4 and upload.offset == sum(map(len, parts))
    for name in rotation.files_of(upload):
        with open_read(private_storage(), name[0]) as src:
            assert header_of(src).current
    now = plaintexts()
    changed = {key for key in before if before[key] != now[key]}
    assert changed == {("uploads.Upload", upload.pk)}  # only the upload, which got its fourth part
    assert b"".join(upload.open()) == b"".join(parts)
    # "a" removed: every file still opens.
    settings.FILE_ENCRYPTION_KEYS = [KEY_B]
    assert plaintexts() == now
