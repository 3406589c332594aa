"""The case worker's submission page says why a document was refused, beside the document: a document made of
photos whose page 3 the worker could not take names that page, in German and in English."""

import uuid

import pytest
from django.urls import reverse

from audit.services import Actor
from staff.constants import Role
from tests.scanning.test_assemble import COLOURS, photo
from tests.uploads.factories import SubmissionReasonFactory, upload_whole
from uploads import services
from uploads.models import Draft, SubmissionDocument

from .factories import transmitted_submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused(member, file_checks, settings) -> SubmissionDocument:
    """Three photos as one document, transmitted; its page 3 is beyond the decode budget when the worker assembles
    it (as in tests/uploads/test_photo_documents.py), so the document is refused naming the page."""
    actor = Actor.member(member.user)
    draft = services.draft_get_or_create(member=member)
    reason = SubmissionReasonFactory(code="certificate")
    services.draft_autosave(draft=draft, version=draft.version, fields={"reason": reason}, actor=actor)
    draft = Draft.objects.get(pk=draft.pk)
    small = [upload_whole(draft, actor, photo(colour), name="p.jpg") for colour in COLOURS[:2]]
    big = upload_whole(draft, actor, photo(COLOURS[2], size=(2000, 2000), fmt="PNG"), name="gross.png")
    services.photo_document_arrange(
        draft=draft, key=uuid.uuid4(), title="Formular", pages=[(u.public_id, 0) for u in [*small, big]], actor=actor
    )
    submission = services.draft_transmit(draft=Draft.objects.get(pk=draft.pk), actor=actor, confirmed=True)
    settings.UPLOAD_IMAGE_MEMORY_BUDGET = 8 * 2**20
    file_checks.run()
    document = submission.documents.get()
    assert document.is_refused and document.scan_note == "page 3: image_too_large"
    return document


def _detail(client, document, **headers) -> str:
    response = client.get(reverse("staff:submission", args=[document.submission.reference]), **headers)
    assert response.status_code == 200
    return response.content.decode()


def _refusal(html: str, document) -> str:
    start = html.index(f'id="refusal-{document.public_id}"')
    return html[html.index(">", start) + 1 : html.index("</span>", start)]


@pytest.mark.parametrize("role", [Role.CASE_WORKER, Role.CASE_READER])
def test_the_refusal_names_the_page_beside_the_document(staff_client, refused, role):
    html = _detail(staff_client(role), refused)
    assert _refusal(html, refused) == "Seite 3 ist zu groß zum Verarbeiten; das Dokument wurde nicht übernommen."
    row = html[html.rindex("<tr>", 0, html.index(f'id="refusal-{refused.public_id}"')) :]
    assert row.index("Formular.pdf") < row.index("abgelehnt") < row.index("Seite 3 ist zu groß")
    # Nothing to open: no viewer, no download for a refused document.
    assert reverse("staff:viewer", args=[refused.submission.reference, refused.public_id]) not in html


def test_the_refusal_speaks_english_when_chosen(staff_client, refused):
    html = _detail(staff_client(Role.CASE_WORKER), refused, HTTP_ACCEPT_LANGUAGE="en")
    assert _refusal(html, refused) == "Page 3 is too large to process; the document was not accepted."


def test_malware_found_on_a_page_reads_as_a_sentence(staff_client, refused):
    SubmissionDocument.objects.filter(pk=refused.pk).update(scan_note="page 2: malware")
    client = staff_client(Role.CASE_WORKER)
    expected = "Auf Seite 2 wurde Schadsoftware gefunden; das Dokument wurde nicht übernommen."
    assert _refusal(_detail(client, refused), refused) == expected
    english = _refusal(_detail(client, refused, HTTP_ACCEPT_LANGUAGE="en"), refused)
    assert english == "Malware was found on page 2; the document was not accepted."


def test_a_delivered_document_shows_no_refusal(staff_client, member):
    submission = transmitted_submission(member, files={"Foto.jpg": photo(COLOURS[0])})
    html = _detail(staff_client(Role.CASE_WORKER), submission.documents.get())
    assert "document-refusal" not in html and "nicht übernommen" not in html
