"""The case workers' inbox, detail, download, status and export pages (staff/views.py)."""

import errno
import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from staff.constants import Role
from tests.factories import MemberFactory
from tests.leakscan import SCANNER
from tests.uploads.factories import SubmissionReasonFactory, pdf_bytes
from uploads.constants import SubmissionStatus
from uploads.models import Submission

from .factories import transmitted_submission

pytestmark = pytest.mark.django_db

INBOX = reverse("staff:inbox")


@pytest.fixture
def worker(staff_client):
    return staff_client(Role.CASE_WORKER)


@pytest.fixture
def pdf():
    return pdf_bytes()


@pytest.fixture
def submission(member, pdf):
    return transmitted_submission(member, files={"Bescheinigung.pdf": pdf})


def _listed(client, **params):
    # The inbox's form posts (the search term stays out of the URL); filters come back in the redirect's URL.
    response = client.post(INBOX, params, follow=True)
    assert response.status_code == 200
    return list(response.context["page"])


def test_inbox_lists_transmitted_submissions(worker, submission):
    assert _listed(worker) == [submission]


def test_inbox_finds_a_submission_by_reference(worker, submission):
    transmitted_submission(MemberFactory())
    assert _listed(worker, q=submission.reference.lower()) == [submission]


def test_inbox_finds_a_submission_by_kvnr(worker, submission, member):
    transmitted_submission(MemberFactory())
    assert _listed(worker, q=member.kvnr) == [submission]


def test_a_kvnr_search_never_appears_in_a_url(worker, submission, member):
    response = worker.post(INBOX, {"q": member.kvnr.lower(), "status": SubmissionStatus.RECEIVED})
    assert response.status_code == 302
    assert member.kvnr not in response["Location"].upper()
    assert "status=received" in response["Location"]
    page = worker.get(response["Location"])
    assert list(page.context["page"]) == [submission]
    assert member.kvnr not in page.context["query"].upper()


def test_a_search_term_in_the_query_string_is_not_used(worker, submission, member):
    transmitted_submission(MemberFactory())
    assert len(list(worker.get(INBOX, {"q": member.kvnr}).context["page"])) == 2
    SCANNER.reset()  # this test put the KVNR in a URL on purpose


def test_a_search_token_of_another_session_finds_nothing_of_it(worker, staff_client, submission, member):
    location = worker.post(INBOX, {"q": member.kvnr})["Location"]
    other = staff_client(Role.CASE_WORKER)
    transmitted_submission(MemberFactory())
    assert len(list(other.get(location).context["page"])) == 2


def test_inbox_filters_by_status(worker, submission):
    other = transmitted_submission(MemberFactory())
    Submission.objects.filter(pk=other.pk).update(status=SubmissionStatus.DONE)
    assert _listed(worker, status=SubmissionStatus.DONE) == [Submission.objects.get(pk=other.pk)]


def test_inbox_filters_by_reason(worker, submission):
    SubmissionReasonFactory(code="andere")
    assert _listed(worker, reason="andere") == []
    assert _listed(worker, reason="certificate") == [submission]


def test_inbox_filters_by_date(worker, submission):
    # The inbox filters by the calendar day in Berlin, which is not the UTC day between 23:00 and 24:00 UTC.
    day = timezone.localdate(submission.transmitted_at)
    assert _listed(worker, date_from=day.isoformat(), date_to=day.isoformat()) == [submission]
    assert _listed(worker, date_from=day.replace(year=day.year + 1).isoformat()) == []


def test_detail_shows_data_contact_changes_and_files(worker, submission):
    html = worker.get(reverse("staff:submission", args=[submission.reference])).content.decode()
    assert "Bitte prüfen." in html
    assert "Bonn" in html
    assert "Bescheinigung.pdf" in html


def test_unknown_reference_is_404(worker):
    assert worker.get(reverse("staff:submission", args=["EP-NONE-NONE"])).status_code == 404


def test_download_streams_the_decrypted_document(worker, submission, pdf):
    document = submission.documents.get()
    response = worker.get(reverse("staff:document", args=[submission.reference, document.public_id]))
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == document.sha256
    assert response["Content-Disposition"].startswith("attachment")


def test_every_download_is_audited_with_who_and_when(worker, submission):
    document = submission.documents.get()
    url = reverse("staff:document", args=[submission.reference, document.public_id])
    worker.get(url)
    worker.get(url)
    events = AuditEvent.objects.filter(action=AuditAction.SUBMISSION_DOWNLOAD)
    assert events.count() == 2
    assert {event.actor_user.groups.get().name for event in events} == {Role.CASE_WORKER}
    assert events.first().data == {"reference": submission.reference, "document": str(document.public_id)}


def test_unreadable_document_shows_a_message_and_audits_no_download(worker, submission, monkeypatch):
    document = submission.documents.get()

    def unreadable(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storages["default"], "open", unreadable)
    url = reverse("staff:document", args=[submission.reference, document.public_id])
    response = worker.get(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("staff:submission", args=[submission.reference])
    assert "Die Datei kann gerade nicht geöffnet werden" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.SUBMISSION_DOWNLOAD).exists()


def test_document_of_another_submission_is_404(worker, submission, pdf):
    other = transmitted_submission(MemberFactory(), files={"x.pdf": pdf})
    document = other.documents.get()
    assert worker.get(reverse("staff:document", args=[submission.reference, document.public_id])).status_code == 404


def test_status_moves_with_a_note(worker, submission):
    url = reverse("staff:submission_status", args=[submission.reference])
    worker.post(url, {"status": SubmissionStatus.IN_PROGRESS, "note": "Rückfrage beim Arzt"})
    submission.refresh_from_db()
    assert (submission.status, submission.status_note) == (SubmissionStatus.IN_PROGRESS, "Rückfrage beim Arzt")
    assert AuditEvent.objects.filter(action=AuditAction.SUBMISSION_STATUS).exists()


def test_unknown_status_changes_nothing(worker, submission):
    worker.post(reverse("staff:submission_status", args=[submission.reference]), {"status": "archived"})
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.RECEIVED


def test_export_to_storage_of_an_unreadable_document_shows_a_message_and_audits_nothing(
    worker, submission, settings, monkeypatch
):
    settings.SUBMISSION_EXPORT_STORAGE = "default"

    def unreadable(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storages["default"], "open", unreadable)
    response = worker.post(reverse("staff:submission_export", args=[submission.reference]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("staff:submission", args=[submission.reference])
    assert "Die Datei kann gerade nicht geöffnet werden" in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.SUBMISSION_EXPORTED).exists()


def test_export_downloads_a_zip_with_files_and_description(worker, submission, pdf):
    response = worker.post(reverse("staff:submission_export", args=[submission.reference]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    kept = archive.read("01-Bescheinigung.pdf")  # the disarmed copy
    assert hashlib.sha256(kept).hexdigest() == submission.documents.get().sha256
    description = json.loads(archive.read("submission.json"))
    assert description["reference"] == submission.reference
    assert description["documents"][0]["file"] == "01-Bescheinigung.pdf"
    assert AuditEvent.objects.get(action=AuditAction.SUBMISSION_EXPORTED).data["target"] == "download"
