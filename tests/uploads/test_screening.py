"""The worker's check of stored files against the real clamd: release, hold, quarantine, and every staff gate."""

import datetime
import hashlib
import io
import logging
import subprocess

import pikepdf
import pytest
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from scanning.disarm import pdf_active_content
from tests.clamav.daemon import EICAR, MARKER
from tests.scanning.pdfs import TEXT
from tests.scanning.pdfs import pdf_bytes as hostile_pdf
from uploads import services, tasks
from uploads.constants import ScanStatus
from uploads.exceptions import TransmitError
from uploads.models import QuarantinedFile, Upload
from uploads.screening import file_screen
from uploads.services import receiving

from .factories import upload_whole

pytestmark = pytest.mark.django_db


def kept(upload) -> bytes:
    return b"".join(services.upload_open(upload=upload))


def jpeg_with(payload: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(out, "JPEG", comment=payload)
    return out.getvalue()


def test_clean_hostile_pdf_is_released_disarmed_with_text(real_clamd, draft, actor):
    data = hostile_pdf("all")
    upload = upload_whole(draft, actor, data)
    assert upload.scan_status == ScanStatus.CLEAN and upload.is_deliverable
    content = kept(upload)
    assert upload.sent_sha256 == hashlib.sha256(data).hexdigest() != upload.sha256
    assert hashlib.sha256(content).hexdigest() == upload.sha256
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert pdf_active_content(pdf) == []
    text = subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()
    assert TEXT in text


def test_an_upload_still_arriving_is_left_alone_by_the_check_and_the_rescan(draft, actor):
    """A stale or repeated check, or beat's rescan, must not touch segments that are still arriving."""
    from tests.uploads.factories import pdf_bytes

    data = pdf_bytes(padding=50_000)
    upload = services.upload_create(draft=draft, name="a.pdf", length=len(data), actor=actor)
    upload = services.upload_append(
        upload=upload, offset=0, stream=io.BytesIO(data[:1000]), content_length=1000, actor=actor
    )
    Upload.objects.filter(pk=upload.pk).update(updated_at=timezone.now() - datetime.timedelta(hours=1))
    file_screen(row=upload)
    assert screening_rescan_count() == 0
    upload.refresh_from_db()
    assert len(upload.segments) == 1 and upload.offset == 1000 and upload.storage_name
    upload = services.upload_append(
        upload=upload, offset=1000, stream=io.BytesIO(data[1000:]), content_length=len(data) - 1000, actor=actor
    )
    assert upload.is_complete and upload.sent_sha256 == hashlib.sha256(data).hexdigest()


def screening_rescan_count() -> int:
    from uploads.screening import files_rescan

    return files_rescan()


def test_the_orphan_purge_keeps_the_disarmed_copy_and_removes_the_received_segments(draft, actor):
    data = hostile_pdf()
    upload = upload_whole(draft, actor, data)
    assert upload.is_deliverable and not upload.segments  # the disarmed copy is one file of its own
    later = timezone.now() + datetime.timedelta(days=1)
    assert services.uploads_purge_orphans(now=later) == 0  # the received segments went when the copy came
    assert TEXT in subprocess.run(["pdftotext", "-", "-"], input=kept(upload), capture_output=True).stdout.decode()
    services.upload_delete(upload=upload, actor=actor)
    assert not storages["default"].exists(upload.storage_name)


def test_infected_pdf_is_quarantined_encrypted_and_the_member_is_told_by_name(real_clamd, member_client, member):
    actor = Actor.member(member.user)
    draft = services.draft_get_or_create(member=member)
    upload = upload_whole(draft, actor, hostile_pdf(extra_attachment=EICAR), name="Rechnung.pdf")
    assert upload.scan_status == ScanStatus.INFECTED and upload.storage_name == ""
    quarantined = QuarantinedFile.objects.get(public_id=upload.public_id)
    assert quarantined.signature and quarantined.member == member
    from django.core.files.storage import storages

    assert quarantined.segments  # kept as the member's encrypted segments
    for segment in quarantined.segments:
        with storages["default"].open(f"{quarantined.storage_name}{segment['key']}", "rb") as stored:
            assert EICAR not in stored.read()  # encrypted at rest
    services.uploads_purge_orphans(now=timezone.now() + datetime.timedelta(days=1))
    assert storages["default"].exists(f"{quarantined.storage_name}{quarantined.segments[0]['key']}")
    assert AuditEvent.objects.filter(action=AuditAction.DOCUMENT_QUARANTINED).exists()
    page = member_client.get(reverse("uploads:draft")).content.decode()
    assert "In „Rechnung.pdf“ haben wir Schadsoftware gefunden" in page
    assert quarantined.signature not in page
    assert member_client.get(reverse("uploads:file_download", args=[upload.public_id])).status_code == 404
    from tests.uploads.factories import SubmissionReasonFactory

    services.draft_autosave(
        draft=draft, version=draft.version, fields={"reason": SubmissionReasonFactory()}, actor=actor
    )
    with pytest.raises(TransmitError, match=r"Rechnung\.pdf"):
        services.draft_transmit(draft=draft, actor=actor, confirmed=True)
    # Removing the entry keeps the quarantined file for the administrators.
    services.upload_delete(upload=upload, actor=actor)
    assert storages["default"].exists(f"{quarantined.storage_name}{quarantined.segments[0]['key']}")


def test_infected_image_is_quarantined(real_clamd, draft, actor):
    upload = upload_whole(draft, actor, jpeg_with(MARKER), name="Foto.jpg")
    assert upload.scan_status == ScanStatus.INFECTED
    assert QuarantinedFile.objects.filter(public_id=upload.public_id).exists()


def test_the_quarantine_takes_over_the_file_as_sent_and_the_audit_row_names_the_upload(
    real_clamd, draft, actor, file_checks
):
    data = hostile_pdf(extra_attachment=EICAR)
    file_checks.auto = False
    sent = upload_whole(draft, actor, data, name="Rechnung.pdf")
    file_checks.run()
    upload = Upload.objects.get(pk=sent.pk)
    quarantined = QuarantinedFile.objects.get(public_id=sent.public_id)
    assert (upload.scan_status, upload.storage_name, upload.segments) == (ScanStatus.INFECTED, "", [])
    assert (quarantined.name, quarantined.mime_type, quarantined.size) == ("Rechnung.pdf", "application/pdf", len(data))
    assert quarantined.sha256 == hashlib.sha256(data).hexdigest() == sent.sent_sha256
    assert (quarantined.storage_name, quarantined.segments) == (sent.storage_name, sent.segments)
    assert quarantined.member == draft.member
    assert b"".join(quarantined.open()) == data  # still decrypts: the same uuid binds it
    event = AuditEvent.objects.get(action=AuditAction.DOCUMENT_QUARANTINED)
    assert event.data == {"upload": str(sent.public_id), "status": ScanStatus.INFECTED}
    assert event.member == draft.member


def test_scanner_stopped_holds_the_file_then_the_beat_releases_it(real_clamd, settings, tmp_path, draft, actor, caplog):
    socket_path = settings.CLAMD_SOCKET
    settings.CLAMD_SOCKET = str(tmp_path / "stopped.sock")
    with caplog.at_level(logging.ERROR, logger="uploads.screening"):
        upload = upload_whole(draft, actor, hostile_pdf("launch"))
    assert (upload.scan_status, upload.scan_note) == (ScanStatus.HELD, "unreachable")
    assert "held" in caplog.text  # the operators' alert
    assert not upload.is_deliverable
    settings.CLAMD_SOCKET = socket_path
    Upload.objects.filter(pk=upload.pk).update(updated_at=upload.updated_at.replace(year=2000))
    assert tasks.rescan_held.delay().get() == 1
    upload.refresh_from_db()
    assert upload.scan_status == ScanStatus.CLEAN
    with pikepdf.open(io.BytesIO(kept(upload))) as pdf:
        assert pdf_active_content(pdf) == []


def test_scanner_timeout_holds_the_file(real_clamd, settings, draft, actor):
    settings.CLAMD_TIMEOUT = 0.5
    real_clamd.pause()
    try:
        upload = upload_whole(draft, actor, hostile_pdf())
    finally:
        real_clamd.resume()
    assert (upload.scan_status, upload.scan_note) == (ScanStatus.HELD, "timeout")


def test_file_above_the_stream_limit_is_held(real_clamd, settings, draft, actor):
    # Django's cap normally sits below clamd's StreamMaxLength (25M in tests/clamav/clamd.conf); raised here.
    settings.UPLOAD_MAX_FILE_SIZE = settings.UPLOAD_MAX_DRAFT_SIZE = 40 * 2**20
    from .factories import pdf_bytes

    upload = upload_whole(draft, actor, pdf_bytes(padding=26 * 2**20))
    assert (upload.scan_status, upload.scan_note) == (ScanStatus.HELD, "too_large")


def test_django_file_cap_sits_below_clamds_stream_limit(settings):
    from tests.clamav.daemon import HERE

    conf = (HERE / "clamd.conf").read_text()
    assert "StreamMaxLength 25M" in conf and settings.UPLOAD_MAX_FILE_SIZE < 25 * 2**20


def test_required_scanner_missing_holds_instead_of_delivering(settings, draft, actor):
    settings.CLAMD_SOCKET = settings.CLAMD_TCP = ""
    settings.CLAMD_REQUIRED = True
    upload = upload_whole(draft, actor, hostile_pdf())
    assert (upload.scan_status, upload.scan_note) == (ScanStatus.HELD, "not_configured")


def test_transmission_waits_while_a_file_is_being_checked(draft, actor, file_checks):
    from tests.uploads.factories import SubmissionReasonFactory

    file_checks.auto = False
    services.draft_autosave(draft=draft, version=1, fields={"reason": SubmissionReasonFactory()}, actor=actor)
    upload_whole(draft, actor, hostile_pdf())
    with pytest.raises(TransmitError, match="noch geprüft"):
        services.draft_transmit(draft=draft, actor=actor, confirmed=True)
    file_checks.run()
    assert services.draft_transmit(draft=draft, actor=actor, confirmed=True).documents.count() == 1


def test_screening_twice_does_nothing_the_second_time(draft, actor, file_checks):
    file_checks.auto = False
    upload = upload_whole(draft, actor, hostile_pdf())
    file_checks.run()
    upload.refresh_from_db()
    assert file_screen(row=upload) == ScanStatus.UNSCANNED
    assert AuditEvent.objects.filter(action=AuditAction.DOCUMENT_CLEARED).count() == 1


def test_receipt_lists_the_hash_sent_and_the_hash_kept_with_an_explanation(member):
    from tests.staff.factories import transmitted_submission
    from uploads.receipt import receipt_pdf

    data = hostile_pdf("launch")
    submission = transmitted_submission(member, files={"Befund.pdf": data})
    document = submission.documents.get()
    pdf = receipt_pdf(submission=submission)
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    flat = "".join(text.split())
    assert hashlib.sha256(data).hexdigest() in flat and document.sha256 in flat
    assert document.sha256 != hashlib.sha256(data).hexdigest()
    assert "Warum zwei Prüfsummen" in text


def test_completion_enqueues_the_check_with_the_upload_id_only_after_commit(
    draft, actor, file_checks, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(receiving, "_screen_on_commit", file_checks.enqueue_on_commit)
    sent = []
    monkeypatch.setattr(tasks.screen_upload, "apply_async", lambda args, **kwargs: sent.append(tuple(args)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        upload = upload_whole(draft, actor, hostile_pdf())
    assert sent == [] and upload.scan_status == ScanStatus.PENDING
    for callback in callbacks:
        callback()
    assert sent == [(upload.pk,)]
