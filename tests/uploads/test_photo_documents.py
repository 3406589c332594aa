"""Photos of one paper document: the member's arrangement (order, turn, name), transmission as one document whose
PDF the worker assembles from the checked pages, a refused page naming the page, and the receipt's checksums."""

import datetime
import hashlib
import io
import subprocess
import uuid

import pikepdf
import pytest
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from core import storage as stored_files
from tests.scanning.test_assemble import COLOURS, MARKER, corner_colours, near, photo, render
from uploads import services
from uploads.constants import SCAN_REFUSED, ScanStatus
from uploads.exceptions import TransmitError, UploadError, UploadNotFound
from uploads.models import DocumentPage, Draft, PhotoDocument, SubmissionDocument, SubmissionReason, Upload
from uploads.receipt import receipt_pdf

from .factories import DraftFactory, pdf_bytes, upload_whole

pytestmark = pytest.mark.django_db


def reason(draft, actor):
    certificate = SubmissionReason.objects.get(code="certificate")
    services.draft_autosave(draft=draft, version=draft.version, fields={"reason": certificate}, actor=actor)
    return Draft.objects.get(pk=draft.pk)


def three_photos(draft, actor) -> list[tuple[Upload, bytes]]:
    sent = [photo(colour) for colour in COLOURS]
    return [(upload_whole(draft, actor, data, name=f"IMG_{i}.jpg"), data) for i, data in enumerate(sent, start=1)]


def stored_pdf(document: SubmissionDocument) -> bytes:
    return b"".join(services.document_open(document=document))


# --- the arrangement


def test_arrange_keeps_the_members_order_turn_and_name(draft, actor):
    (a, _), (b, _), (c, _) = three_photos(draft, actor)
    key = uuid.uuid4()
    document = services.photo_document_arrange(
        draft=draft, key=key, title="  Arbeitgeber­bescheinigung ", pages=[(c.public_id, 0), (a.public_id, 90)],
        actor=actor,
    )  # fmt: skip
    assert document.public_id == key and document.title == "Arbeitgeber­bescheinigung"
    pages = {u.public_id: (u.photo_document_id, u.page_number, u.rotation) for u in Upload.objects.all()}
    assert pages[c.public_id] == (document.pk, 1, 0)
    assert pages[a.public_id] == (document.pk, 2, 90)
    assert pages[b.public_id] == (None, 0, 0)

    # Sent again as a whole: b joins first, a leaves (a plain file again).
    services.photo_document_arrange(
        draft=draft, key=key, title="", pages=[(b.public_id, 270), (c.public_id, 180)], actor=actor
    )
    pages = {u.public_id: (u.photo_document_id, u.page_number, u.rotation) for u in Upload.objects.all()}
    assert pages[b.public_id] == (document.pk, 1, 270)
    assert pages[c.public_id] == (document.pk, 2, 180)
    assert pages[a.public_id] == (None, 0, 0)
    assert PhotoDocument.objects.get().title == "Dokument"  # no name and no reason yet

    services.photo_document_arrange(draft=draft, key=key, title="x", pages=[], actor=actor)
    assert not PhotoDocument.objects.exists()
    assert not Upload.objects.filter(photo_document__isnull=False).exists()
    assert Upload.objects.count() == 3  # the photos stay, as plain files


def test_without_a_name_the_document_is_called_after_the_drafts_reason(draft, actor):
    draft = reason(draft, actor)
    (a, _), *_rest = three_photos(draft, actor)
    document = services.photo_document_arrange(
        draft=draft, key=uuid.uuid4(), title="", pages=[(a.public_id, 0)], actor=actor
    )
    assert document.title == SubmissionReason.objects.get(code="certificate").label_de


def test_arrange_refuses_what_is_not_an_arrangement(draft, actor, member):
    (a, _), *_rest = three_photos(draft, actor)
    pdf = upload_whole(draft, actor, pdf_bytes())
    other = upload_whole(DraftFactory(), actor, photo(COLOURS[0]), name="p.jpg")
    cases = [
        ([(a.public_id, 45)], UploadError, "90, 180 oder 270"),
        ([(a.public_id, 0), (a.public_id, 90)], UploadError, "doppelt"),
        ([(pdf.public_id, 0)], UploadError, "nur Fotos"),
        ([(other.public_id, 0)], UploadNotFound, "gibt es nicht mehr"),
    ]
    for pages, error, message in cases:
        with pytest.raises(error, match=message):
            services.photo_document_arrange(draft=draft, key=uuid.uuid4(), title="", pages=pages, actor=actor)
    assert not PhotoDocument.objects.exists()


def test_the_arrange_endpoint_saves_for_the_member_and_answers_bad_json_with_400(member_client, member):
    draft = services.draft_get_or_create(member=member)
    from audit.services import Actor

    upload = upload_whole(draft, Actor.member(member.user), photo(COLOURS[0]), name="p.jpg")
    url = reverse("uploads:photo_document")
    key = str(uuid.uuid4())
    body = {"key": key, "title": "Formular", "pages": [{"id": str(upload.public_id), "rotation": 90}]}
    response = member_client.post(url, body, content_type="application/json")
    assert response.status_code == 200 and response.json()["title"] == "Formular"
    assert Upload.objects.get().rotation == 90
    for bad in [b"not json", b'{"key": "x", "pages": []}', b'{"key": "%s", "pages": [{"id": 1}]}' % key.encode()]:
        response = member_client.post(url, bad, content_type="application/json")
        assert response.status_code == 400
        assert "ungültig" in response.json()["message"]


def test_another_drafts_document_key_or_deeply_nested_json_is_refused_without_a_500(
    member_client, member, other_client, other_member
):
    from audit.services import Actor

    url = reverse("uploads:photo_document")
    mine = upload_whole(
        services.draft_get_or_create(member=member), Actor.member(member.user), photo(COLOURS[0]), name="p.jpg"
    )
    key = str(uuid.uuid4())
    body = {"key": key, "title": "Formular", "pages": [{"id": str(mine.public_id), "rotation": 0}]}
    assert member_client.post(url, body, content_type="application/json").status_code == 200

    theirs = upload_whole(
        services.draft_get_or_create(member=other_member),
        Actor.member(other_member.user),
        photo(COLOURS[1]),
        name="q.jpg",
    )
    body = {"key": key, "title": "Fremd", "pages": [{"id": str(theirs.public_id), "rotation": 0}]}
    response = other_client.post(url, body, content_type="application/json")
    assert response.status_code == 404
    document = PhotoDocument.objects.get(public_id=key)
    assert (document.title, document.draft.member_id) == ("Formular", member.pk)
    assert Upload.objects.get(pk=theirs.pk).photo_document_id is None

    nested = b'{"key": "' + key.encode() + b'", "pages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = member_client.post(url, nested, content_type="application/json")
    assert response.status_code == 400 and "ungültig" in response.json()["message"]


# --- transmission and assembly


def test_transmitted_photos_become_one_upright_pdf_in_the_members_order(draft, actor, file_checks, settings):
    draft = reason(draft, actor)
    (a, a_sent), (b, b_sent), (c, c_sent) = three_photos(draft, actor)
    plain = upload_whole(draft, actor, pdf_bytes(), name="Befund.pdf")
    services.photo_document_arrange(
        draft=draft,
        key=uuid.uuid4(),
        title="Arbeitgeberbescheinigung",
        pages=[(c.public_id, 0), (a.public_id, 90), (b.public_id, 0)],
        actor=actor,
    )
    submission = services.draft_transmit(draft=draft, actor=actor, confirmed=True)

    documents = {d.name: d for d in submission.documents.all()}
    assert set(documents) == {"Befund.pdf", "Arbeitgeberbescheinigung.pdf"}
    assembled = documents["Arbeitgeberbescheinigung.pdf"]
    assert assembled.scan_status == ScanStatus.PENDING and not assembled.is_deliverable
    assert documents["Befund.pdf"].public_id == plain.public_id  # a plain file goes as before

    file_checks.run()  # the worker: assemble the PDF
    assembled.refresh_from_db()
    assert assembled.is_deliverable and assembled.mime_type == "application/pdf"
    pdf = stored_pdf(assembled)
    assert hashlib.sha256(pdf).hexdigest() == assembled.sha256 and len(pdf) == assembled.size
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert len(opened.pages) == 3
        boxes = [sorted(float(v) for v in page.mediabox[2:]) for page in opened.pages]
        assert all(box == pytest.approx([595.276, 841.89], abs=0.01) for box in boxes)
    # Page 1 is c (third colour), page 2 is a turned right (its marker now top right), page 3 is b.
    expected = [
        ((600, 800), "top-left", "top-right"),
        ((800, 600), "top-right", "bottom-right"),
        ((600, 800), "top-left", "top-right"),
    ]
    for number, (picture, marker_at, band_at) in enumerate(expected, start=1):
        corners = corner_colours(render(pdf, number), picture)
        assert near(corners[marker_at], MARKER), (number, corners)
        # The coloured band says which photo it is: c, a, b.
        assert near(corners[band_at], [COLOURS[2], COLOURS[0], COLOURS[1]][number - 1]), (number, corners)

    pages = list(DocumentPage.objects.filter(document=assembled).order_by("number"))
    assert [(p.public_id, p.rotation) for p in pages] == [(c.public_id, 0), (a.public_id, 90), (b.public_id, 0)]
    assert [p.sent_sha256 for p in pages] == [hashlib.sha256(d).hexdigest() for d in (c_sent, a_sent, b_sent)]
    # The pages' copies are gone: the PDF is what is delivered; nothing else of theirs is stored.
    assert all(p.storage_name == "" for p in pages)
    for page in pages:
        assert list(stored_files.list_files(storages["default"], f"documents/{page.public_id}")) == []


def test_the_receipt_lists_the_document_with_its_pages_checksums_as_sent(draft, actor, file_checks):
    draft = reason(draft, actor)
    photos = three_photos(draft, actor)
    services.photo_document_arrange(
        draft=draft, key=uuid.uuid4(), title="Formular", pages=[(u.public_id, 0) for u, _ in photos], actor=actor
    )
    submission = services.draft_transmit(draft=draft, actor=actor, confirmed=True)
    file_checks.run()
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=receipt_pdf(submission=submission), capture_output=True, check=True
    ).stdout.decode()
    assert "Formular.pdf" in text and "3 Fotos" in text
    for number, (_upload, data) in enumerate(photos, start=1):
        assert f"Seite {number} (gesendet)" in text
        assert hashlib.sha256(data).hexdigest() in text
    assert SubmissionDocument.objects.get().sha256 in text  # and the PDF the insurer keeps


def test_a_page_beyond_the_budget_at_assembly_refuses_the_document_naming_the_page(draft, actor, file_checks, settings):
    draft = reason(draft, actor)
    small = [upload_whole(draft, actor, photo(colour), name="p.jpg") for colour in COLOURS[:2]]
    big = upload_whole(draft, actor, photo(COLOURS[2], size=(2000, 2000), fmt="PNG"), name="gross.png")
    assert big.is_deliverable  # checked under the normal budget
    services.photo_document_arrange(
        draft=draft, key=uuid.uuid4(), title="Formular", pages=[(u.public_id, 0) for u in [*small, big]], actor=actor
    )
    submission = services.draft_transmit(draft=draft, actor=actor, confirmed=True)
    settings.UPLOAD_IMAGE_MEMORY_BUDGET = 8 * 2**20  # a page now beyond the decode budget: 2000x2000 RGBA, twice
    file_checks.run()

    document = submission.documents.get()
    assert document.scan_status in SCAN_REFUSED and not document.is_deliverable
    assert document.scan_note == "page 3: image_too_large"
    assert "Seite 3" in str(document.refusal_message)
    # No half-written record: no PDF stored, none listed; the pages' copies are gone too.
    assert document.storage_name == "" and document.sha256 == ""
    assert list(stored_files.list_files(storages["default"], f"documents/{document.public_id}")) == []
    for page in document.pages.all():
        assert list(stored_files.list_files(storages["default"], f"documents/{page.public_id}")) == []


def test_a_page_refused_in_the_draft_is_named_and_stops_the_transmission(
    draft, actor, member_client, file_checks, settings
):
    draft = reason(draft, actor)
    file_checks.auto = False
    pages = [upload_whole(draft, actor, photo(colour), name="p.jpg") for colour in COLOURS[:2]]
    pages.append(upload_whole(draft, actor, photo(COLOURS[2], size=(2000, 2000), fmt="PNG"), name="gross.png"))
    services.photo_document_arrange(
        draft=draft, key=uuid.uuid4(), title="Formular", pages=[(u.public_id, 0) for u in pages], actor=actor
    )
    settings.UPLOAD_IMAGE_MEMORY_BUDGET = 8 * 2**20  # the worker's check refuses the third page
    file_checks.run()
    assert Upload.objects.get(pk=pages[2].pk).scan_status == ScanStatus.REFUSED
    with pytest.raises(TransmitError) as refused:
        services.draft_transmit(draft=draft, actor=actor, confirmed=True)
    assert "„Formular“, Seite 3" in str(refused.value.message)
    page = member_client.get(reverse("uploads:draft")).content.decode()
    assert "Seite 3 von „Formular“:" in page and "zu groß zum Verarbeiten" in page


def test_the_photo_pages_speak_english_too(member_client, member, actor):
    draft = services.draft_get_or_create(member=member)
    pages = [upload_whole(draft, actor, photo(colour), name="p.jpg") for colour in COLOURS[:2]]
    services.photo_document_arrange(
        draft=draft, key=uuid.uuid4(), title="Formular", pages=[(u.public_id, 0) for u in pages], actor=actor
    )
    member_client.cookies["portal_language"] = "en"
    english = member_client.get(reverse("uploads:draft")).content.decode()
    for text in ["Take a photo", "Choose photos", "What is this document?", "Pages in this order", "Move up"]:
        assert text in english
    assert "Page 2 of “Formular” (sent as one PDF)" in english
    assert 'data-msg-page="Page %(page)s of %(count)s"' in english  # the script's template, placeholders intact
    member_client.cookies["portal_language"] = "de"
    german = member_client.get(reverse("uploads:draft")).content.decode()
    assert "Foto aufnehmen" in german and 'data-msg-page="Seite %(page)s von %(count)s"' in german


def test_pages_waiting_for_their_pdf_survive_the_orphan_purge_and_go_with_the_submissions_retention(
    draft, actor, settings
):
    draft = reason(draft, actor)
    photos = three_photos(draft, actor)
    services.photo_document_arrange(
        draft=draft, key=uuid.uuid4(), title="Formular", pages=[(u.public_id, 0) for u, _ in photos], actor=actor
    )
    submission = services.draft_transmit(draft=draft, actor=actor, confirmed=True)  # the worker has not run yet
    pages = list(DocumentPage.objects.all())
    assert len(pages) == 3 and all(page.stored_names for page in pages)

    def stored() -> list[str]:
        return [name for page in pages for name, _m in stored_files.list_files(storages["default"], "documents")
                if str(page.public_id) in name]  # fmt: skip

    later = timezone.now() + datetime.timedelta(minutes=settings.UPLOAD_ORPHAN_GRACE_MINUTES + 1)
    services.uploads_purge_orphans(now=later)
    assert len(stored()) == 3  # a page's copy is listed by its DocumentPage: not an orphan

    due = submission.transmitted_at + datetime.timedelta(days=settings.SUBMISSION_RETENTION_DAYS_MAX + 1)
    assert services.submission_forget(submission_id=submission.pk, now=due)
    assert stored() == []
    assert not DocumentPage.objects.exclude(storage_name="").exists()
