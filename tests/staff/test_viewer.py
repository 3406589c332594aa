"""The case worker's document viewer (staff:viewer): pages, text, audit, no-store, permissions, budgets."""

import pytest
from django.urls import reverse

from audit.constants import AuditAction
from audit.models import AuditEvent
from staff.constants import Role
from tests.scanning.pages import pages_pdf, photo_jpeg
from uploads.models import DocumentRender, RenderedPage

from .factories import transmitted_submission
from .viewer import rendered_pages, viewer_url

pytestmark = pytest.mark.django_db

TEXTS = ["Arbeitgeberbescheinigung Seite eins", "Angaben zum Entgelt Seite zwei", "Unterschrift Seite drei"]


@pytest.fixture
def submission(member):
    return transmitted_submission(member, files={"Formular.pdf": pages_pdf(TEXTS)})


@pytest.fixture
def document(submission):
    return submission.documents.get()


def _page_url(document, number: int) -> str:
    return reverse("staff:viewer_page", args=[document.submission.reference, document.public_id, number])


def test_the_viewer_shows_each_page_with_its_text(staff_client, document):
    client = staff_client(Role.CASE_WORKER)
    response = client.get(viewer_url(document))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Seite 1 von 3" in html
    assert TEXTS[0] in html
    response = client.get(viewer_url(document) + "?seite=2&zoom=150")
    html = response.content.decode()
    assert "Seite 2 von 3" in html and TEXTS[1] in html and TEXTS[0] not in html
    assert 'class="viewer-zoom-150"' in html
    assert 'rel="prev"' in html and 'rel="next"' in html
    assert rendered_pages(document) == [(1, 1400, 1982), (2, 1400, 1982), (3, 1400, 1982)]


def test_a_page_out_of_range_shows_the_nearest_page(staff_client, document):
    html = staff_client(Role.CASE_WORKER).get(viewer_url(document) + "?seite=99").content.decode()
    assert "Seite 3 von 3" in html and 'rel="next"' not in html


def test_a_page_image_is_served_through_django_and_never_stored(staff_client, document):
    client = staff_client(Role.CASE_WORKER)
    client.get(viewer_url(document))
    response = client.get(_page_url(document, 2))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control
    assert response["X-Content-Type-Options"] == "nosniff"
    viewer = client.get(viewer_url(document))
    assert {"no-store", "private"} <= {part.strip() for part in viewer["Cache-Control"].split(",")}
    assert client.get(_page_url(document, 4)).status_code == 404


def test_every_view_is_audited_with_who_which_document_and_page(staff_client, document):
    client = staff_client(Role.CASE_READER)
    client.get(viewer_url(document))
    client.get(viewer_url(document) + "?seite=3")
    events = AuditEvent.objects.filter(action=AuditAction.SUBMISSION_VIEWED).order_by("pk")
    assert [event.data["page"] for event in events] == [1, 3]
    assert {event.actor_user.groups.get().name for event in events} == {Role.CASE_READER}
    assert events[0].data["document"] == str(document.public_id)
    assert events[0].member == document.submission.member
    assert not AuditEvent.objects.filter(action=AuditAction.SUBMISSION_DOWNLOAD).exists()


def test_view_only_reads_but_never_downloads(staff_client, document):
    client = staff_client(Role.CASE_READER)
    html = client.get(viewer_url(document)).content.decode()
    assert TEXTS[0] in html
    assert "viewer-download" not in html
    assert client.get(_page_url(document, 1)).status_code == 200
    download = reverse("staff:document", args=[document.submission.reference, document.public_id])
    assert client.get(download).status_code == 403
    assert client.post(reverse("staff:submission_export", args=[document.submission.reference])).status_code == 403
    detail = client.get(reverse("staff:submission", args=[document.submission.reference])).content.decode()
    assert viewer_url(document) in detail and f'href="{download}"' not in detail


def test_the_case_worker_with_download_gets_both(staff_client, document):
    client = staff_client(Role.CASE_WORKER)
    html = client.get(viewer_url(document)).content.decode()
    download = reverse("staff:document", args=[document.submission.reference, document.public_id])
    assert download in html
    assert client.get(download).status_code == 200


@pytest.mark.parametrize("role", [Role.CALL_CENTRE, Role.PRINT_SHOP, Role.CAMPAIGNS])
def test_other_roles_get_neither(staff_client, document, role):
    client = staff_client(role)
    assert client.get(viewer_url(document)).status_code == 403
    assert client.get(_page_url(document, 1)).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.SUBMISSION_VIEWED).exists()


def test_a_photo_is_its_own_single_page(staff_client, member):
    submission = transmitted_submission(member, files={"Foto.jpg": photo_jpeg((2400, 1800))})
    document = submission.documents.get()
    client = staff_client(Role.CASE_WORKER)
    html = client.get(viewer_url(document)).content.decode()
    assert "Seite 1 von 1" in html
    assert "ein Foto" in html
    assert rendered_pages(document) == [(1, 1400, 1050)]
    response = client.get(_page_url(document, 1))
    assert response["Content-Type"] == "image/jpeg" and response.content.startswith(b"\xff\xd8")


def test_the_inbox_shows_the_first_page_as_a_thumbnail(staff_client, document):
    client = staff_client(Role.CASE_WORKER)
    client.get(viewer_url(document))  # rendered (also for documents from before the viewer)
    html = client.get(reverse("staff:inbox")).content.decode()
    thumbnail = reverse("staff:thumbnail", args=[document.submission.reference, document.public_id])
    assert thumbnail in html
    response = client.get(thumbnail)
    assert response.status_code == 200 and response.content.startswith(b"\x89PNG")
    assert "no-store" in response["Cache-Control"]


def test_a_document_without_renders_is_rendered_when_first_viewed(staff_client, document):
    DocumentRender.objects.filter(document=document).delete()
    html = staff_client(Role.CASE_WORKER).get(viewer_url(document)).content.decode()
    # Eager Celery in tests: the worker has rendered it by the time the page is written.
    assert "Seite 1 von 3" in html
    assert DocumentRender.objects.get(document=document).page_count == 3


def test_a_document_too_long_to_render_says_so_and_offers_the_download(staff_client, member, settings):
    settings.VIEWER_MAX_PAGES = 2
    submission = transmitted_submission(member, files={"Lang.pdf": pages_pdf(TEXTS)})
    document = submission.documents.get()
    worker = staff_client(Role.CASE_WORKER)
    response = worker.get(viewer_url(document))
    assert response.status_code == 200
    html = response.content.decode()
    assert "mehr Seiten, als die Ansicht im Browser darstellt" in html
    assert 'id="viewer-download"' in html
    assert DocumentRender.objects.get(document=document).refused == "too_many_pages"
    assert not RenderedPage.objects.exists()
    reader = staff_client(Role.CASE_READER).get(viewer_url(document)).content.decode()
    assert "viewer-download" not in reader and "Berechtigung zum Herunterladen" in reader


def test_a_huge_page_is_refused_cleanly_never_a_500(staff_client, member):
    submission = transmitted_submission(member, files={"Plakat.pdf": pages_pdf(["gross"], size=(4000, 200000))})
    document = submission.documents.get()
    response = staff_client(Role.CASE_WORKER).get(viewer_url(document))
    assert response.status_code == 200
    assert "zu groß für die Ansicht im Browser" in response.content.decode()


def test_the_viewer_speaks_english_when_chosen(staff_client, document):
    client = staff_client(Role.CASE_WORKER)
    html = client.get(viewer_url(document), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Page 1 of 3" in html and "Next page" in html
