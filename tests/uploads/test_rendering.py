"""The worker's rendering for the case worker's viewer (uploads/rendering.py): pages, text, encryption at rest,
once only, only deliverable documents, and the renders deleted with their documents (retention)."""

import datetime

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from core.storage import list_files, private_storage
from tests.scanning.pages import pages_pdf, photo_jpeg
from tests.staff.factories import transmitted_submission
from uploads import services, tasks
from uploads.constants import ScanStatus
from uploads.models import DocumentRender, RenderedPage, SubmissionDocument
from uploads.rendering import document_render
from uploads.selectors import document_page_get, document_page_images

pytestmark = pytest.mark.django_db

TEXTS = ["Erste Seite Arbeitgeber", "Zweite Seite Entgelt", "Dritte Seite Unterschrift"]


def _document(member, name="Formular.pdf", data=None) -> SubmissionDocument:
    submission = transmitted_submission(member, files={name: data if data is not None else pages_pdf(TEXTS)})
    return submission.documents.get()


def _renders() -> list[str]:
    return [name for name, _modified in list_files(private_storage(), "renders")]


def test_a_pdf_becomes_its_pages_with_their_text(member):
    document = _document(member)
    assert document_render(document_id=document.pk) == "rendered"
    pages = document_page_images(document=document)
    assert [(page.number, page.width, page.height, page.mime_type) for page in pages] == [
        (number, 1400, 1982, "image/png") for number in (1, 2, 3)
    ]
    texts = [
        services.document_page_read(page=document_page_get(document=document, kind="text", number=number)).decode()
        for number in (1, 2, 3)
    ]
    assert texts == TEXTS
    thumbnail = document_page_get(document=document, kind=RenderedPage.Kind.THUMBNAIL, number=1)
    assert (thumbnail.width, thumbnail.height) == (160, 227)
    assert DocumentRender.objects.get(document=document).page_count == 3


def test_pages_are_encrypted_at_rest_and_bound_to_their_row(member):
    document = _document(member)
    document_render(document_id=document.pk)
    names = _renders()
    assert len(names) == 3 + 3 + 1  # images, texts, thumbnail
    assert all(name.startswith(f"renders/{document.public_id}/") for name in names)
    for name in names:
        with storages["default"].open(name) as stored:
            raw = stored.read()
        assert not raw.startswith((b"\x89PNG", b"\xff\xd8"))
        assert TEXTS[0].encode() not in raw and b"IHDR" not in raw
    page = document_page_images(document=document)[0]
    assert services.document_page_read(page=page).startswith(b"\x89PNG")
    other = document_page_images(document=document)[1]
    page.storage_name = other.storage_name  # another row's file does not decrypt under this row's uuid
    with pytest.raises(Exception, match="gerade nicht angezeigt"):
        services.document_page_read(page=page)


def test_a_photo_is_one_scaled_page_without_text(member):
    document = _document(member, name="Foto.jpg", data=photo_jpeg((3000, 4000)))
    assert document_render(document_id=document.pk) == "rendered"
    [page] = document_page_images(document=document)
    assert (page.width, page.height, page.mime_type) == (1400, 1867, "image/jpeg")
    assert services.document_page_read(page=page).startswith(b"\xff\xd8")
    text = document_page_get(document=document, kind="text", number=1)
    assert services.document_page_read(page=text) == b""


def test_a_second_run_does_nothing(member):
    document = _document(member)
    assert tasks.render_document(document.pk) == "rendered"
    stored = _renders()
    assert tasks.render_document(document.pk) == "skipped"
    assert _renders() == stored
    assert RenderedPage.objects.count() == 7


def test_a_document_not_deliverable_is_not_rendered(member):
    document = _document(member)
    SubmissionDocument.objects.filter(pk=document.pk).update(scan_status=ScanStatus.HELD)
    assert document_render(document_id=document.pk) == "skipped"
    assert not DocumentRender.objects.exists() and _renders() == []


def test_a_document_over_the_page_cap_is_recorded_as_refused(member, settings):
    settings.VIEWER_MAX_PAGES = 2
    document = _document(member)
    assert document_render(document_id=document.pk) == "refused"
    render = DocumentRender.objects.get(document=document)
    assert (render.refused, render.page_count) == ("too_many_pages", 0)
    assert _renders() == []


def test_the_transmission_hands_its_documents_to_the_rendering(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = transmitted_submission(member, files={"Formular.pdf": pages_pdf(TEXTS)})
    assert DocumentRender.objects.get(document=submission.documents.get()).page_count == 3


def test_retention_deletes_the_renders_with_their_documents(member, settings):
    transmitted = datetime.datetime(2027, 3, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(transmitted, tick=False):
        document = _document(member)
        document_render(document_id=document.pk)
    assert len(_renders()) == 7
    later = transmitted + datetime.timedelta(days=settings.SUBMISSION_RETENTION_DAYS_MAX + 1)
    with time_machine.travel(later, tick=False):
        assert services.submissions_forget_due() == 1
    assert _renders() == []
    assert not DocumentRender.objects.exists() and not RenderedPage.objects.exists()
    # A late task for the forgotten document renders nothing again.
    assert document_render(document_id=document.pk) == "skipped"
    assert _renders() == []


def test_the_orphan_purge_keeps_listed_renders_and_removes_the_rest(member, settings):
    document = _document(member)
    document_render(document_id=document.pk)
    listed = sorted(_renders())
    orphan = f"renders/{document.public_id}/dead0000beef/image-1"
    storages["default"].save(orphan, ContentFile(b"left by a worker that died"))
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(
        minutes=settings.UPLOAD_ORPHAN_GRACE_MINUTES + 5
    )
    assert services.uploads_purge_orphans(now=later) == 1
    assert sorted(_renders()) == listed
