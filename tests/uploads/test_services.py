"""Tests of uploads.services: autosave versions, resumable uploads, transmission, purging."""

import datetime
import hashlib
import io
from unittest import mock

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from core import storage as stored_files
from pins.constants import EndReason, PinStatus
from uploads import services
from uploads.constants import ScanStatus, UploadStatus
from uploads.exceptions import (
    DraftConflict,
    InvalidFile,
    OffsetMismatch,
    TransmitError,
    UnsupportedType,
    UploadExpired,
    UploadTooLarge,
)
from uploads.models import Draft, Submission, SubmissionReason, Upload

from .factories import heic_bytes, image_bytes, pdf_bytes, upload_whole

pytestmark = pytest.mark.django_db


def certificate():
    return SubmissionReason.objects.get(code="certificate")


# --- drafts


def test_one_draft_per_member_is_reused(member):
    first = services.draft_get_or_create(member=member)
    assert services.draft_get_or_create(member=member).pk == first.pk


def test_autosave_with_current_version_saves_and_increments_version(draft, actor):
    saved = services.draft_autosave(draft=draft, version=1, fields={"message": "Hallo"}, actor=actor)
    assert (saved.version, Draft.objects.get(pk=draft.pk).message) == (2, "Hallo")


def test_autosave_from_stale_version_is_refused_and_keeps_newer_data(draft, actor):
    services.draft_autosave(draft=draft, version=1, fields={"message": "neu"}, actor=actor)
    with pytest.raises(DraftConflict) as error:
        services.draft_autosave(draft=draft, version=1, fields={"message": "alt"}, actor=actor)
    assert error.value.current_version == 2
    assert Draft.objects.get(pk=draft.pk).message == "neu"


def test_autosave_records_audit_without_content(draft, actor):
    services.draft_autosave(draft=draft, version=1, fields={"message": "Diagnose X"}, actor=actor)
    event = AuditEvent.objects.get(action=AuditAction.DRAFT_SAVED)
    assert "Diagnose X" not in str(event.data)


# --- uploads


def test_pdf_uploaded_in_chunks_is_complete_encrypted_and_hash_matches(draft, actor, file_checks):
    file_checks.auto = False  # the segments as received, before the worker swaps in the disarmed copy
    data = pdf_bytes(padding=200_000)
    upload = services.upload_create(draft=draft, name="a.pdf", length=len(data), actor=actor)
    for start in range(0, len(data), 70_000):
        chunk = data[start : start + 70_000]
        upload = services.upload_append(
            upload=upload, offset=start, stream=io.BytesIO(chunk), content_length=len(chunk), actor=actor
        )
    assert upload.status == UploadStatus.COMPLETE
    assert upload.sent_sha256 == hashlib.sha256(data).hexdigest()
    assert b"".join(services.upload_open(upload=upload)) == data
    names = [name for name, _modified in stored_files.list_files(storages["default"], upload.storage_name)]
    assert names == [f"{upload.storage_name}{segment['key']}" for segment in upload.segments]
    assert len(names) == -(-len(data) // 70_000)
    for name in names:
        with storages["default"].open(name, "rb") as stored:
            content = stored.read()
        assert content.startswith(b"EPF2") and b"%PDF" not in content and data[1000:2000] not in content


def test_interrupted_upload_resumes_from_stored_offset_to_identical_hash(draft, actor):
    data = pdf_bytes(padding=150_000)
    upload = services.upload_create(draft=draft, name="a.pdf", length=len(data), actor=actor)
    # The connection drops after 50,000 of 100,000 announced bytes: what arrived is kept.
    upload = services.upload_append(
        upload=upload, offset=0, stream=io.BytesIO(data[:50_000]), content_length=100_000, actor=actor
    )
    assert Upload.objects.get(pk=upload.pk).offset == 50_000
    upload = services.upload_append(
        upload=upload, offset=50_000, stream=io.BytesIO(data[50_000:]), content_length=len(data) - 50_000, actor=actor
    )
    assert upload.sent_sha256 == hashlib.sha256(data).hexdigest()


def test_append_at_wrong_offset_is_refused(draft, actor):
    upload = services.upload_create(draft=draft, name="a.pdf", length=10_000, actor=actor)
    with pytest.raises(OffsetMismatch):
        services.upload_append(upload=upload, offset=5, stream=io.BytesIO(b"x"), content_length=1, actor=actor)


def test_append_to_expired_upload_is_refused(draft, actor):
    upload = services.upload_create(draft=draft, name="a.pdf", length=10_000, actor=actor)
    Upload.objects.filter(pk=upload.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(UploadExpired):
        services.upload_append(upload=upload, offset=0, stream=io.BytesIO(b"%PDF"), content_length=4, actor=actor)


def test_announced_file_over_limit_is_refused_before_storing(draft, actor, settings):
    settings.UPLOAD_MAX_FILE_SIZE = 1000
    with pytest.raises(UploadTooLarge):
        services.upload_create(draft=draft, name="a.pdf", length=1001, actor=actor)
    assert not Upload.objects.exists()


def test_draft_total_over_limit_is_refused(draft, actor, settings):
    settings.UPLOAD_MAX_DRAFT_SIZE = 15_000
    services.upload_create(draft=draft, name="a.pdf", length=10_000, actor=actor)
    with pytest.raises(UploadTooLarge):
        services.upload_create(draft=draft, name="b.pdf", length=10_000, actor=actor)


def test_more_files_than_allowed_are_refused(draft, actor, settings):
    settings.UPLOAD_MAX_DRAFT_FILES = 2
    for name in ("a.pdf", "b.pdf"):
        services.upload_create(draft=draft, name=name, length=100, actor=actor)
    with pytest.raises(UploadTooLarge):
        services.upload_create(draft=draft, name="c.pdf", length=100, actor=actor)


def test_unsupported_type_is_refused_and_deleted_once_first_bytes_are_in(draft, actor):
    data = b"MZ\x90\x00" + b"\x00" * 10_000
    upload = services.upload_create(draft=draft, name="rechnung.pdf", length=len(data), actor=actor)
    with pytest.raises(UnsupportedType):
        services.upload_append(
            upload=upload, offset=0, stream=io.BytesIO(data[:5000]), content_length=5000, actor=actor
        )
    assert not Upload.objects.filter(pk=upload.pk).exists()
    assert not list(stored_files.list_files(storages["default"], upload.storage_name))


def test_encrypted_pdf_is_refused(draft, actor):
    with pytest.raises(InvalidFile, match="verschlüsselt"):
        upload_whole(draft, actor, pdf_bytes(encrypt=True))


def test_heic_photo_becomes_jpeg(draft, actor):
    upload = upload_whole(draft, actor, heic_bytes(), name="Foto.HEIC")
    assert (upload.mime_type, upload.name) == ("image/jpeg", "Foto.jpg")


def test_gps_exif_is_stripped_from_jpeg(draft, actor):
    from PIL import Image

    exif = Image.Exif()
    exif[0x8825] = {2: (50.0, 56.0, 0.0)}  # GPSInfo
    exif[0x010F] = "Kamera AG"
    upload = upload_whole(draft, actor, image_bytes(fmt="JPEG", exif=exif.tobytes()), name="foto.jpg")
    stored = Image.open(io.BytesIO(b"".join(services.upload_open(upload=upload))))
    assert not stored.getexif()


def test_photo_taken_sideways_is_stored_upright_without_orientation_tag(draft, actor):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees
    upload = upload_whole(draft, actor, image_bytes(fmt="JPEG", size=(40, 20), exif=exif.tobytes()), name="a.jpg")
    stored = Image.open(io.BytesIO(b"".join(services.upload_open(upload=upload))))
    assert stored.size == (20, 40)


def test_upload_without_a_scanner_is_disarmed_and_marked_unscanned(draft, actor):
    assert upload_whole(draft, actor, pdf_bytes()).scan_status == ScanStatus.UNSCANNED


def test_deleting_an_upload_removes_its_encrypted_file(draft, actor, file_checks):
    file_checks.auto = False  # the received segments; the disarmed copy's removal is tested in test_screening.py
    upload = upload_whole(draft, actor, pdf_bytes())
    assert list(stored_files.list_files(storages["default"], upload.storage_name))
    services.upload_delete(upload=upload, actor=actor)
    assert list(stored_files.list_files(storages["default"], upload.storage_name)) == []


# --- transmission


def ready_draft(draft, actor):
    services.draft_autosave(draft=draft, version=1, fields={"reason": certificate()}, actor=actor)
    upload_whole(draft, actor, pdf_bytes())
    return Draft.objects.get(pk=draft.pk)


def test_transmit_creates_submission_with_documents_and_removes_draft(draft, actor):
    submission = services.draft_transmit(draft=ready_draft(draft, actor), actor=actor, confirmed=True)
    assert submission.documents.count() == 1
    assert not Draft.objects.filter(pk=draft.pk).exists()
    document = submission.documents.get()
    assert b"".join(services.document_open(document=document)).startswith(b"%PDF")


def test_transmit_invalidates_every_pin_of_the_member(member, draft, actor, issue_pin):
    pins = [issue_pin(member).pin, issue_pin(member).pin]
    services.draft_transmit(draft=ready_draft(draft, actor), actor=actor, confirmed=True)
    for pin in pins:
        pin.refresh_from_db()
        assert (pin.status, pin.end_reason) == (PinStatus.INVALIDATED, EndReason.TRANSMITTED)


def test_transmit_twice_returns_the_same_submission(draft, actor):
    ready = ready_draft(draft, actor)
    first = services.draft_transmit(draft=ready, actor=actor, confirmed=True)
    second = services.draft_transmit(draft=ready, actor=actor, confirmed=True)
    assert first.pk == second.pk
    assert Submission.objects.count() == 1


def test_transmit_without_confirmation_is_refused(draft, actor):
    with pytest.raises(TransmitError):
        services.draft_transmit(draft=ready_draft(draft, actor), actor=actor, confirmed=False)


def test_failure_midway_leaves_draft_and_pins_as_they_were(member, draft, actor, issue_pin):
    pin = issue_pin(member).pin
    ready = ready_draft(draft, actor)
    with (
        mock.patch("uploads.services.transmission.audit_record", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        services.draft_transmit(draft=ready, actor=actor, confirmed=True)
    pin.refresh_from_db()
    assert pin.status == PinStatus.ACTIVE
    assert Draft.objects.get(pk=draft.pk).uploads.count() == 1
    assert not Submission.objects.exists()


def test_transmit_with_unfinished_upload_is_refused(draft, actor):
    ready = ready_draft(draft, actor)
    services.upload_create(draft=ready, name="b.pdf", length=5000, actor=actor)
    with pytest.raises(TransmitError):
        services.draft_transmit(draft=ready, actor=actor, confirmed=True)


def test_reference_uses_only_unambiguous_characters():
    reference = services.reference_generate()
    assert len(reference) == 12
    assert not set(reference[3:].replace("-", "")) & set("01OIL")


# --- housekeeping


def test_expired_partial_upload_is_purged_with_its_parts(draft, actor):
    data = pdf_bytes(padding=20_000)
    upload = services.upload_create(draft=draft, name="a.pdf", length=len(data), actor=actor)
    services.upload_append(upload=upload, offset=0, stream=io.BytesIO(data[:8000]), content_length=8000, actor=actor)
    later = timezone.now() + datetime.timedelta(days=3)
    assert list(stored_files.list_files(storages["default"], upload.storage_name))
    assert services.uploads_purge_expired(now=later) == 1
    assert list(stored_files.list_files(storages["default"], upload.storage_name)) == []


def test_draft_of_member_whose_pins_all_ended_long_ago_is_purged(member, draft, actor, issue_pin, settings):
    pin = issue_pin(member).pin
    upload = upload_whole(draft, actor, pdf_bytes())
    later = pin.expires_at + datetime.timedelta(days=settings.DRAFT_RETENTION_DAYS + 1)
    assert services.drafts_purge_expired(now=later) == 1
    assert not Draft.objects.filter(pk=draft.pk).exists()
    assert list(stored_files.list_files(storages["default"], upload.storage_name)) == []


def test_draft_of_member_with_a_live_pin_is_kept(member, draft, issue_pin, settings):
    issue_pin(member)
    Draft.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - datetime.timedelta(days=400))
    assert services.drafts_purge_expired() == 0


def test_set_status_changes_status_and_note_only(actor):
    from .factories import SubmissionFactory

    submission = SubmissionFactory()
    services.submission_set_status(submission=submission, status="done", note="erledigt", actor=Actor.system())
    submission.refresh_from_db()
    assert (submission.status, submission.status_note) == ("done", "erledigt")
