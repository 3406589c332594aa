"""The member, case-worker and print-shop flows with STORAGE_BACKEND=s3 against moto's S3 server."""

import datetime
import hashlib
import io
import os
import tracemalloc
import zipfile

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from core import storage as stored_files
from core.crypto import open_decrypted, save_encrypted
from letters import services as letter_services
from letters.constants import LetterStatus
from letters.models import LetterRequest
from staff.constants import Role
from tests.factories import MemberFactory
from tests.uploads.factories import pdf_bytes
from tests.uploads.test_views import tus_create, tus_patch, tus_upload
from uploads import services
from uploads.constants import UploadStatus
from uploads.models import Draft, SubmissionReason, Upload

from .conftest import all_objects, free_port, s3_client, s3_storages

STORAGE_MESSAGE = "Die Datei konnte gerade nicht gespeichert werden"


def assert_no_plaintext(objects: dict[str, bytes], *plaintexts: bytes) -> None:
    """No stored object holds a PDF header or any 64-byte piece of what was uploaded (every 4 KiB checked)."""
    assert objects
    for key, content in objects.items():
        assert b"%PDF" not in content, key
        for plain in plaintexts:
            for start in range(0, max(1, len(plain) - 64), 4096):
                assert plain[start : start + 64] not in content, key


def test_member_upload_transmission_and_case_worker_download(
    bucket, moto_endpoint, member, member_client, staff_client, file_checks
):
    file_checks.auto = False  # first the segments as received; the worker's check runs below
    chunked = pdf_bytes(padding=300_000)
    plain_form = pdf_bytes(padding=40_000)
    draft = services.draft_get_or_create(member=member)
    reason = SubmissionReason.objects.get(code="form")
    member_client.post(reverse("uploads:autosave"), {"version": draft.version, "reason": reason.pk})

    _url, response = tus_upload(member_client, chunked, name="Bescheinigung.pdf", chunk=100_000)
    assert response["Upload-Complete"] == "1"
    response = member_client.post(
        reverse("uploads:file_upload"), {"file": SimpleUploadedFile("Brief.pdf", plain_form)}, follow=True
    )
    assert response.status_code == 200
    uploads = list(Upload.objects.order_by("created_at"))
    assert [upload.status for upload in uploads] == [UploadStatus.COMPLETE] * 2
    assert len(uploads[0].segments) == 4 and len(uploads[1].segments) == 1

    # While the draft is open, the bucket already holds nothing readable.
    assert_no_plaintext(all_objects(moto_endpoint, bucket), chunked, plain_form)

    # The worker scans and disarms each file on S3: a disarmed copy replaces the received segments.
    file_checks.run()
    uploads = list(Upload.objects.order_by("created_at"))
    assert all(upload.is_deliverable and not upload.segments for upload in uploads)
    assert [upload.sent_sha256 for upload in uploads] == [
        hashlib.sha256(chunked).hexdigest(),
        hashlib.sha256(plain_form).hexdigest(),
    ]

    response = member_client.post(reverse("uploads:transmit"), {"confirm": "on"}, follow=True)
    assert response.status_code == 200
    assert not Draft.objects.exists()

    worker = staff_client(Role.CASE_WORKER)
    submission = member.submissions.get()
    downloaded = {}
    for document in submission.documents.all():
        response = worker.get(reverse("staff:document", args=[submission.reference, document.public_id]))
        assert response.status_code == 200
        downloaded[document.name] = b"".join(response.streaming_content)
    for document in submission.documents.all():
        assert downloaded[document.name].startswith(b"%PDF")
        assert hashlib.sha256(downloaded[document.name]).hexdigest() == document.sha256
    assert {document.sent_sha256 for document in submission.documents.all()} == {
        hashlib.sha256(chunked).hexdigest(),
        hashlib.sha256(plain_form).hexdigest(),
    }

    objects = all_objects(moto_endpoint, bucket)
    assert_no_plaintext(objects, chunked, plain_form)
    client = s3_client(moto_endpoint)
    for key in objects:
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        assert head["ContentType"] == stored_files.ENCRYPTED_CONTENT_TYPE
    assert all(key.startswith("files/documents/") for key in objects)


def test_letter_is_rendered_stored_encrypted_and_collected(
    bucket, moto_endpoint, request_letter, staff_user, verified_client
):
    letters = [request_letter(MemberFactory()) for _ in range(2)]
    assert {letter.status for letter in letters} == {LetterStatus.RENDERED}
    print_shop = verified_client(staff_user("collect_letters", username="druckerei"))
    response = print_shop.post(reverse("letters:collect"), {"limit": "500"})
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as bundle:
        pdf = next(bundle.read(name) for name in bundle.namelist() if name.endswith(".pdf"))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2
    objects = all_objects(moto_endpoint, bucket)
    assert len(objects) == 2
    assert_no_plaintext(objects)


@pytest.mark.slow(5)
def test_a_large_object_streams_as_multipart_both_ways_in_bounded_memory(bucket, moto_endpoint):
    size, piece = 48 * 2**20, 2**20
    digest = hashlib.sha256()

    def chunks():
        for _ in range(size // piece):
            data = os.urandom(piece)
            digest.update(data)
            yield data

    tracemalloc.start()
    try:
        stored = save_encrypted(storage=storages["default"], name="big/one", chunks=chunks(), aad=b"x")
        _current, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        held, _peak = tracemalloc.get_traced_memory()
        read = hashlib.sha256()
        for chunk in open_decrypted(storage=storages["default"], name="big/one", aad=b"x"):
            read.update(chunk)
        _current, read_peak = tracemalloc.get_traced_memory()
        read_peak -= held
    finally:
        tracemalloc.stop()
    assert stored.sha256 == digest.hexdigest() == read.hexdigest()
    head = s3_client(moto_endpoint).head_object(Bucket=bucket, Key="files/big/one")
    assert "-" in head["ETag"]  # a multipart upload's ETag
    assert head["ServerSideEncryption"] == "AES256"
    # A part (8 MiB) and botocore's copies of it while sending, never the 48 MiB object; reads hold a buffer and
    # one segment.
    assert write_peak < 4 * stored_files.S3_PART_SIZE < size
    assert read_peak < 4 * 2**20


@pytest.fixture
def s3_away(settings, bucket):
    """The portal's storages pointed at a loopback port where nothing listens (S3 down)."""
    settings.STORAGES = {**settings.STORAGES, **s3_storages(endpoint=f"http://127.0.0.1:{free_port()}", bucket=bucket)}


def test_s3_away_answers_503_keeps_the_offset_and_the_upload_resumes(
    bucket, moto_endpoint, member_client, settings, s3_away
):
    data = pdf_bytes(padding=100_000)
    url = tus_create(member_client, len(data))["Location"]
    response = tus_patch(member_client, url, 0, data[:65536])
    assert response.status_code == 503
    assert STORAGE_MESSAGE in response.json()["message"]
    assert Upload.objects.get().offset == 0
    settings.STORAGES = {**settings.STORAGES, **s3_storages(endpoint=moto_endpoint, bucket=bucket)}  # S3 is back
    response = tus_patch(member_client, url, 0, data)
    assert response["Upload-Complete"] == "1"
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()


def test_plain_form_upload_with_s3_away_shows_the_message_and_leaves_no_row(member_client, member, s3_away):
    draft = services.draft_get_or_create(member=member)
    member_client.post(reverse("uploads:autosave"), {"version": draft.version, "message": "Bitte prüfen"})
    response = member_client.post(
        reverse("uploads:file_upload"), {"file": SimpleUploadedFile("a.pdf", pdf_bytes())}, follow=True
    )
    assert response.status_code == 200
    assert STORAGE_MESSAGE in response.content.decode()
    assert not Upload.objects.exists()
    assert Draft.objects.get().message == "Bitte prüfen"


def test_letter_worker_meets_s3_away_as_a_transient_error(db, s3_away):
    from letters.tasks import TRANSIENT_ERRORS

    letter = LetterRequest.objects.create(member=MemberFactory(), purpose="Neue PIN")
    with pytest.raises(TRANSIENT_ERRORS):
        letter_services.letter_render(request_id=letter.pk)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.REQUESTED and not letter.pdf_name


def test_orphaned_segments_are_purged_whichever_node_wrote_them(bucket, moto_endpoint, member, member_client):
    data = pdf_bytes(padding=50_000)
    tus_upload(member_client, data)
    upload = Upload.objects.get()
    orphan = f"documents/{upload.public_id}/000000999999"
    stray = "documents/00000000-0000-4000-8000-000000000000/000000000000"
    for name in (orphan, stray):
        stored_files.write_stream(storages["default"], name, [b"left behind"])
    later = timezone.now() + datetime.timedelta(hours=2)
    assert services.uploads_purge_orphans(now=later) == 2
    keys = set(all_objects(moto_endpoint, bucket))
    assert upload.is_deliverable and not upload.segments  # the worker's disarmed copy, one object of its own
    assert keys == {f"files/{upload.storage_name}"}
    assert hashlib.sha256(b"".join(services.upload_open(upload=upload))).hexdigest() == upload.sha256
    assert upload.sent_sha256 == hashlib.sha256(data).hexdigest()
