"""The exporter interface (staff/exporters.py) and its choice by setting (staff.services.submission_exporter)."""

import hashlib
import io
import json
import zipfile

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

from audit.services import Actor
from staff.exporters import ExportResult, SubmissionExporter, ZipExporter, submission_description
from staff.services import submission_export, submission_exporter
from tests.uploads.factories import pdf_bytes
from uploads.models import SubmissionDocument

from .factories import transmitted_submission

pytestmark = pytest.mark.django_db


class RecordingExporter(SubmissionExporter):
    """Stands in for a document management system's API."""

    sent: list[str] = []

    def export(self, *, submission):
        self.sent.append(submission.reference)
        return ExportResult(target=f"dms:{submission.reference}")


@pytest.fixture
def submission(member):
    return transmitted_submission(member, files={"scan.pdf": pdf_bytes(), "Scan.pdf": pdf_bytes(pages=2)})


def test_zip_holds_every_document_numbered_and_the_description(submission):
    data = b"".join(ZipExporter().zip_stream(submission=submission))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["01-scan.pdf", "02-Scan.pdf", "submission.json"]
    for index, document in enumerate(submission.documents.order_by("id"), start=1):
        content = archive.read(f"{index:02d}-{document.name}")
        assert hashlib.sha256(content).hexdigest() == document.sha256


def test_description_lists_documents_with_their_checksums(submission):
    description = submission_description(submission=submission)
    documents = {doc["name"]: doc for doc in description["documents"]}
    assert documents["scan.pdf"]["sha256"] == submission.documents.get(name="scan.pdf").sha256
    assert description["member"]["kvnr"] == submission.member.kvnr


def test_zip_is_written_to_the_configured_storage(settings, submission):
    settings.SUBMISSION_EXPORT_STORAGE = "default"
    result = ZipExporter().export(submission=submission)
    assert result.stream is None
    name = result.target.split(":", 1)[1]
    with storages["default"].open(name) as stored:
        archive = zipfile.ZipFile(io.BytesIO(stored.read()))
    assert json.loads(archive.read("submission.json"))["reference"] == submission.reference


def test_setting_chooses_the_exporter(settings, submission):
    settings.SUBMISSION_EXPORTER = "tests.staff.test_exporters.RecordingExporter"
    result = submission_export(submission=submission, actor=Actor.system())
    assert result.target == f"dms:{submission.reference}"
    assert RecordingExporter.sent[-1] == submission.reference


def test_a_setting_that_names_no_exporter_is_refused(settings):
    settings.SUBMISSION_EXPORTER = "staff.exporters.ExportResult"
    with pytest.raises(ImproperlyConfigured):
        submission_exporter()


def test_an_export_checks_each_document_once(settings, submission, monkeypatch):
    settings.SUBMISSION_EXPORT_STORAGE = "default"
    checked = []
    deliverable = SubmissionDocument.is_deliverable

    def counted(document) -> bool:
        checked.append(document.pk)
        return deliverable.fget(document)

    monkeypatch.setattr(SubmissionDocument, "is_deliverable", property(counted))
    submission_export(submission=submission, actor=Actor.system())
    assert sorted(checked) == sorted(submission.documents.values_list("pk", flat=True))
