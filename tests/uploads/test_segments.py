"""Uploads as encrypted segments on local storage: no plaintext anywhere, swapped segments fail, old files still work."""

import datetime
import hashlib
import io
import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import storages
from django.utils import timezone

from core import storage as stored_files
from core.crypto import save_encrypted
from uploads import services
from uploads.constants import ScanStatus, UploadStatus
from uploads.exceptions import FileUnavailable
from uploads.models import SubmissionReason, Upload
from uploads.services import _segments

from .factories import image_bytes, pdf_bytes

pytestmark = pytest.mark.django_db


def append_in_chunks(draft, actor, data: bytes, chunk: int, *, stop: int | None = None, name: str = "a.pdf") -> Upload:
    upload = services.upload_create(draft=draft, name=name, length=len(data), actor=actor)
    for start in range(0, stop or len(data), chunk):
        upload = services.upload_append(
            upload=upload,
            offset=start,
            stream=io.BytesIO(data[start : start + chunk]),
            content_length=None,
            actor=actor,
        )
    return upload


def every_stored_file() -> dict[str, bytes]:
    found = {}
    root = Path(storages["default"].location)
    for path in root.rglob("*") if root.exists() else []:
        if path.is_file():
            found[str(path)] = path.read_bytes()
    return found


def test_no_file_under_local_storage_holds_plaintext_during_or_after_the_flow(draft, actor):
    pdf = pdf_bytes(padding=250_000)
    image = image_bytes()
    half = append_in_chunks(draft, actor, pdf, chunk=60_000, stop=120_000)  # still in progress
    assert half.status == UploadStatus.IN_PROGRESS
    files = every_stored_file()
    assert len(files) == 2
    for content in files.values():
        assert b"%PDF" not in content and pdf[1000:1064] not in content

    services.upload_delete(upload=half, actor=actor)
    append_in_chunks(draft, actor, pdf, chunk=100_000)
    append_in_chunks(draft, actor, image, chunk=len(image), name="foto.png")
    draft.reason = SubmissionReason.objects.get(code="form")
    draft.save()
    services.draft_transmit(draft=draft, actor=actor, confirmed=True)
    files = every_stored_file()
    assert files
    for path, content in files.items():
        assert content.startswith(b"EPF2"), path
        assert (
            b"%PDF" not in content
            and pdf[5000:5064] not in content
            and b"\x89PNG" not in content
            and image[16:48] not in content
        ), path


def test_segments_swapped_in_storage_are_refused(draft, actor, file_checks):
    file_checks.auto = False  # the segments as received, before the worker swaps in the disarmed copy
    data = pdf_bytes(padding=200_000)
    upload = append_in_chunks(draft, actor, data, chunk=100_000)
    first, second = (f"{upload.storage_name}{segment['key']}" for segment in upload.segments[:2])
    a, b = storages["default"].path(first), storages["default"].path(second)
    os.replace(a, a + ".tmp")
    os.replace(b, a)
    os.replace(a + ".tmp", b)
    with pytest.raises(FileUnavailable):
        b"".join(services.upload_open(upload=upload))


def test_a_document_stored_as_one_file_is_read_and_transmitted(draft, actor):
    data = pdf_bytes()
    upload = Upload.objects.create(
        draft=draft,
        name="alt.pdf",
        length=len(data),
        offset=len(data),
        mime_type="application/pdf",
        status=UploadStatus.COMPLETE,
        scan_status=ScanStatus.CLEAN,  # as the worker leaves it: its disarmed copy is one encrypted file
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    stored = save_encrypted(
        storage=storages["default"], name=f"documents/{upload.public_id}", chunks=[data], aad=upload.aad
    )
    Upload.objects.filter(pk=upload.pk).update(storage_name=stored.name, sha256=stored.sha256, size=stored.size)
    upload.refresh_from_db()
    assert b"".join(services.upload_open(upload=upload)) == data
    draft.reason = SubmissionReason.objects.get(code="form")
    draft.save()
    submission = services.draft_transmit(draft=draft, actor=actor, confirmed=True)
    assert b"".join(services.document_open(document=submission.documents.get())) == data


def test_orphans_are_purged_after_the_grace_time_and_listed_segments_stay(draft, actor, file_checks):
    file_checks.auto = False  # the segments as received, before the worker swaps in the disarmed copy
    data = pdf_bytes(padding=100_000)
    upload = append_in_chunks(draft, actor, data, chunk=60_000)
    stored_files.write_stream(storages["default"], f"{upload.storage_name}000009999999", [b"died midway"])
    assert services.uploads_purge_orphans() == 0  # too young: a request may still be writing it
    later = timezone.now() + datetime.timedelta(minutes=django_settings.UPLOAD_ORPHAN_GRACE_MINUTES + 1)
    assert services.uploads_purge_orphans(now=later) == 1
    assert sorted(every_stored_file()) == sorted(
        storages["default"].path(f"{upload.storage_name}{segment['key']}") for segment in upload.segments
    )
    assert hashlib.sha256(b"".join(services.upload_open(upload=upload))).hexdigest() == upload.sha256


@pytest.mark.parametrize("same_process", [True, False])
def test_the_document_hash_is_right_whether_the_parts_reach_one_process_or_several(draft, actor, same_process):
    data = pdf_bytes(padding=300_000)
    upload = services.upload_create(draft=draft, name="a.pdf", length=len(data), actor=actor)
    for start in range(0, len(data), 100_000):
        if not same_process:
            _segments._RUNNING_HASHES.clear()  # as if each part reached another node
        upload = services.upload_append(
            upload=upload,
            offset=start,
            stream=io.BytesIO(data[start : start + 100_000]),
            content_length=None,
            actor=actor,
        )
    assert upload.status == UploadStatus.COMPLETE
    assert upload.sent_sha256 == hashlib.sha256(data).hexdigest()
