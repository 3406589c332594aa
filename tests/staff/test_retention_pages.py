"""The case worker sees when a submission's documents are deleted, and after deletion gets a message, not a 500."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import formats, timezone

from staff.constants import Role
from tests.uploads.factories import pdf_bytes
from uploads import services

from .factories import transmitted_submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(staff_client):
    return staff_client(Role.CASE_WORKER)


@pytest.fixture
def submission(member):
    return transmitted_submission(member, files={"Attest.pdf": pdf_bytes()}, message="Bitte bis Freitag.")


def _date(value: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(value), "DATE_FORMAT")


def test_the_submission_page_and_inbox_show_the_deletion_date(settings, worker, submission):
    settings.SUBMISSION_RETENTION_DAYS_MAX = 200
    due = submission.transmitted_at + datetime.timedelta(days=200)
    page = worker.get(reverse("staff:submission", args=[submission.reference])).content.decode()
    assert f"Dokumente werden gelöscht am {_date(due)}" in page
    inbox = worker.get(reverse("staff:inbox")).content.decode()
    assert formats.date_format(timezone.localtime(due), "SHORT_DATE_FORMAT") in inbox


def test_after_deletion_the_page_says_so_and_downloads_and_exports_answer_with_a_message(worker, submission):
    document = submission.documents.get()
    detail = reverse("staff:submission", args=[submission.reference])
    later = timezone.now() + datetime.timedelta(days=400)
    with time_machine.travel(later, tick=False):
        assert services.submissions_forget_due() == 1
    submission.refresh_from_db()

    page = worker.get(detail).content.decode()
    assert f"Dokumente gelöscht am {_date(submission.documents_deleted_at)}" in page
    assert "Bitte bis Freitag." not in page and "Bonn" not in page
    assert "Attest.pdf" in page  # the name stays, as on the receipt
    assert reverse("staff:document", args=[submission.reference, document.public_id]) not in page

    download = worker.get(reverse("staff:document", args=[submission.reference, document.public_id]), follow=True)
    assert download.status_code == 200
    assert download.redirect_chain[-1][0] == detail
    assert "wurden am" in download.content.decode() and "gelöscht (Aufbewahrungsfrist abgelaufen)" in (
        download.content.decode()
    )

    export = worker.post(reverse("staff:submission_export", args=[submission.reference]), follow=True)
    assert export.status_code == 200
    assert export.redirect_chain[-1][0] == detail
    assert "Aufbewahrungsfrist abgelaufen" in export.content.decode()
