"""Staff never reach a document that is not scanned and disarmed: detail page, download, export, exporter."""

import hashlib
import io

import pikepdf
import pytest
from django.urls import reverse

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from scanning.disarm import pdf_active_content
from staff.constants import Role
from staff.exporters import ZipExporter
from staff.services import submission_export
from tests.scanning.pdfs import pdf_bytes as hostile_pdf
from uploads import tasks
from uploads.constants import ScanStatus
from uploads.exceptions import DocumentNotReady
from uploads.models import Submission

from .factories import transmitted_submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def held_submission(member, settings, tmp_path, real_clamd):
    settings.CLAMD_SOCKET = str(tmp_path / "stopped.sock")
    submission = transmitted_submission(member, files={"Befund.pdf": hostile_pdf("open_action_javascript")})
    assert submission.documents.get().scan_status == ScanStatus.HELD
    return submission


def test_held_document_cannot_be_downloaded_by_a_case_worker(held_submission, staff_client):
    worker = staff_client(Role.CASE_WORKER)
    document = held_submission.documents.get()
    detail = worker.get(reverse("staff:submission", args=[held_submission.reference])).content.decode()
    assert reverse("staff:document", args=[held_submission.reference, document.public_id]) not in detail
    response = worker.get(reverse("staff:document", args=[held_submission.reference, document.public_id]))
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditAction.SUBMISSION_DOWNLOAD).exists()


def test_held_document_blocks_the_export(held_submission, staff_client):
    worker = staff_client(Role.CASE_WORKER)
    response = worker.post(reverse("staff:submission_export", args=[held_submission.reference]))
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action=AuditAction.SUBMISSION_EXPORTED).exists()


def test_export_refuses_a_held_document_before_any_exporter_runs(held_submission, monkeypatch):
    def exporter_reached(self, *, submission):
        raise AssertionError("the exporter got a submission with a held document")

    monkeypatch.setattr(ZipExporter, "export", exporter_reached)
    with pytest.raises(DocumentNotReady):
        submission_export(submission=held_submission, actor=Actor.system())
    assert not AuditEvent.objects.filter(action=AuditAction.SUBMISSION_EXPORTED).exists()


def test_held_document_is_released_by_the_beat_and_then_downloadable_disarmed(
    held_submission, staff_client, real_clamd, settings
):
    settings.CLAMD_SOCKET = real_clamd.socket
    tasks.rescan_held.delay()
    document = held_submission.documents.get()
    assert document.scan_status == ScanStatus.CLEAN
    worker = staff_client(Role.CASE_WORKER)
    response = worker.get(reverse("staff:document", args=[held_submission.reference, document.public_id]))
    content = b"".join(response.streaming_content)
    with pikepdf.open(io.BytesIO(content)) as pdf:
        assert pdf_active_content(pdf) == []
    assert Submission.objects.get(pk=held_submission.pk).documents.get().sha256 == hashlib.sha256(content).hexdigest()
    cleared = AuditEvent.objects.get(action=AuditAction.DOCUMENT_CLEARED)
    assert cleared.data == {"document": str(document.public_id), "status": ScanStatus.CLEAN, "scanned": True}
    assert cleared.member == held_submission.member


def test_quarantine_is_visible_to_administrators_only_and_viewing_is_audited(member, real_clamd, staff_client):
    from tests.clamav.daemon import EICAR
    from uploads.models import QuarantinedFile

    transmitted = None
    try:
        transmitted = transmitted_submission(member, files={"x.pdf": hostile_pdf(extra_attachment=EICAR)})
    except Exception as error:  # the infected file must be removed before transmission
        assert "x.pdf" in str(error)
    assert transmitted is None
    item = QuarantinedFile.objects.get()
    url = reverse("admin:uploads_quarantinedfile_change", args=[item.pk])
    assert staff_client(Role.CASE_WORKER).get(url).status_code == 403
    response = staff_client(Role.ADMINISTRATOR).get(url)
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.DOCUMENT_QUARANTINE_VIEWED).exists()


def test_admin_shows_a_banner_without_a_scanner(settings, staff_client):
    settings.CLAMD_SOCKET = settings.CLAMD_TCP = ""
    page = staff_client(Role.CASE_WORKER).get(reverse("admin:index")).content.decode()
    assert "Kein Virenscanner eingerichtet" in page


def test_check_deploy_warns_without_a_scanner(settings):
    from django.core.management import call_command

    settings.CLAMD_SOCKET = settings.CLAMD_TCP = ""
    out = io.StringIO()
    call_command("check", "--deploy", stdout=out, stderr=out)
    assert "scanning.W001" in out.getvalue()
    settings.CLAMD_TCP = "clamav:3310"
    out = io.StringIO()
    call_command("check", "--deploy", stdout=out, stderr=out)
    assert "scanning.W001" not in out.getvalue()
