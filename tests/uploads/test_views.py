"""Tests of the uploads pages and the tus chunk API: protocol answers, bad input, autosave, transmission."""

import base64
import errno
import hashlib
import io
import itertools
import threading

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test import Client
from django.urls import reverse

from audit.services import Actor
from core import storage as core_storage
from pins.constants import PinStatus
from pins.models import LetterPin
from tests.helpers import database_unreachable, disk_error, login_member
from uploads import services
from uploads.constants import UploadStatus
from uploads.models import Draft, Submission, SubmissionReason, Upload

from .factories import image_bytes, pdf_bytes

pytestmark = pytest.mark.django_db

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def metadata(**values) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def tus_create(client, length: int, name: str = "Bescheinigung.pdf", fingerprint: str = "fp-1"):
    return client.post(
        reverse("uploads:tus"),
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata(filename=name, fingerprint=fingerprint),
        **TUS,
    )


def tus_patch(client, url: str, offset: int, data: bytes):
    extra = {"HTTP_UPLOAD_OFFSET": str(offset), **TUS}
    return client.generic("PATCH", url, data, content_type="application/offset+octet-stream", **extra)


def tus_upload(client, data: bytes, name: str = "Bescheinigung.pdf", chunk: int = 64 * 1024):
    created = tus_create(client, len(data), name=name)
    assert created.status_code == 201, created.content
    url = created["Location"]
    offset, response = 0, None
    while offset < len(data):
        response = tus_patch(client, url, offset, data[offset : offset + chunk])
        if response.status_code != 204:
            return url, response
        offset = int(response["Upload-Offset"])
    return url, response


# --- tus protocol


def test_options_announces_tus_version_and_extensions(member_client):
    response = member_client.options(reverse("uploads:tus"))
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {"creation", "termination", "expiration"}


def test_creation_answers_201_with_location_and_expiry(member_client):
    response = tus_create(member_client, 5000)
    assert response.status_code == 201
    assert response["Location"].endswith(f"/antrag/uploads/{Upload.objects.get().public_id}/")
    assert response["Upload-Expires"]


def test_request_without_tus_version_is_refused_with_412(member_client):
    response = member_client.post(reverse("uploads:tus"), HTTP_UPLOAD_LENGTH="100")
    assert response.status_code == 412


def test_chunked_upload_completes_with_matching_sha256(member_client):
    data = pdf_bytes(padding=300_000)
    _url, response = tus_upload(member_client, data)
    assert response.status_code == 204
    assert response["Upload-Complete"] == "1"
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()


def test_head_reports_offset_to_resume_from(member_client):
    data = pdf_bytes(padding=100_000)
    url = tus_create(member_client, len(data))["Location"]
    tus_patch(member_client, url, 0, data[:40_000])
    response = member_client.head(url, **TUS)
    assert (response.status_code, response["Upload-Offset"]) == (200, "40000")
    assert "no-store" in response["Cache-Control"]


def test_patch_at_wrong_offset_answers_409_with_current_offset(member_client):
    data = pdf_bytes(padding=100_000)
    url = tus_create(member_client, len(data))["Location"]
    tus_patch(member_client, url, 0, data[:10_000])
    response = tus_patch(member_client, url, 5_000, data[5_000:20_000])
    assert (response.status_code, response["Upload-Offset"]) == (409, "10000")


def test_patch_to_expired_upload_answers_410(member_client):
    from django.utils import timezone

    url = tus_create(member_client, 5000)["Location"]
    Upload.objects.update(expires_at=timezone.now())
    response = tus_patch(member_client, url, 0, b"%PDF-1.7")
    assert response.status_code == 410
    assert not Upload.objects.exists()


def test_announced_oversize_answers_413_and_stores_nothing(member_client, settings):
    settings.UPLOAD_MAX_FILE_SIZE = 1000
    response = tus_create(member_client, 1001)
    assert response.status_code == 413
    assert "zu groß" in response.json()["message"]
    assert not Upload.objects.exists()


def test_more_bytes_than_announced_answer_413(member_client):
    data = pdf_bytes()
    url = tus_create(member_client, len(data) - 10)["Location"]
    assert tus_patch(member_client, url, 0, data).status_code == 413


def test_patch_with_wrong_content_type_answers_415(member_client):
    url = tus_create(member_client, 100)["Location"]
    response = member_client.generic("PATCH", url, b"x", content_type="text/plain", HTTP_UPLOAD_OFFSET="0", **TUS)
    assert response.status_code == 415


def test_delete_terminates_the_upload(member_client):
    url = tus_create(member_client, 5000)["Location"]
    assert member_client.delete(url, **TUS).status_code == 204
    assert not Upload.objects.exists()


def test_interrupted_upload_resumed_gives_identical_sha256(member_client):
    data = pdf_bytes(padding=250_000)
    url = tus_create(member_client, len(data))["Location"]
    # The first request announces 200,000 bytes but the connection drops after 100,000: what arrived is kept.
    member_client.generic(
        "PATCH", url, b"", content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0",
        CONTENT_LENGTH="200000", **{"wsgi.input": io.BytesIO(data[:100_000])}, **TUS,
    )  # fmt: skip
    offset = int(member_client.head(url, **TUS)["Upload-Offset"])
    response = tus_patch(member_client, url, offset, data[offset:])
    assert response["Upload-Complete"] == "1"
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_chunks_for_one_upload_store_one_and_refuse_the_other(member, issue_pin):
    data = pdf_bytes(padding=400_000)
    client = login_member(Client(), issue_pin(member).pin)
    url = tus_create(client, len(data))["Location"]
    started, release = threading.Event(), threading.Event()

    class SlowBody(io.BytesIO):
        """A request body that stalls after its first read, holding the upload's lock."""

        def read(self, size=-1):
            chunk = super().read(size)
            if not started.is_set():
                started.set()
                release.wait(10)
            return chunk

    upload = Upload.objects.get()
    results = {}

    def first():
        results["first"] = services.upload_append(
            upload=upload,
            offset=0,
            stream=SlowBody(data[:200_000]),
            content_length=200_000,
            actor=Actor.member(member.user),
        ).offset
        connection.close()

    worker = threading.Thread(target=first)
    worker.start()
    started.wait(10)
    second = tus_patch(client, url, 0, data[:200_000])
    release.set()
    worker.join(10)
    assert second.status_code in (409, 423)
    assert results["first"] == 200_000
    offset = int(client.head(url, **TUS)["Upload-Offset"])
    final = tus_patch(client, url, offset, data[offset:])
    assert final["Upload-Complete"] == "1"
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()


# --- bad input


def test_windows_executable_named_pdf_is_refused_with_415_naming_allowed_types(member_client):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + b"PE\x00\x00" + b"\x00" * 5000
    _url, response = tus_upload(member_client, exe, name="Rechnung.pdf")
    assert response.status_code == 415
    assert "PDF" in response.json()["message"] and "JPEG" in response.json()["message"]
    # It says what to do, not only what is allowed.
    assert "Bitte wählen Sie die richtige Datei aus" in response.json()["message"]
    assert not Upload.objects.exists()


def test_html_named_png_is_refused_with_415(member_client):
    html = b"<!DOCTYPE html><html><head><script>alert(1)</script></head><body>" + b"x" * 5000 + b"</body></html>"
    _url, response = tus_upload(member_client, html, name="Foto.png")
    assert response.status_code == 415


def test_zero_byte_file_is_refused_with_a_message(member_client):
    response = tus_create(member_client, 0)
    assert response.status_code == 422
    assert "leer" in response.json()["message"]


def test_png_of_ten_thousand_by_ten_thousand_pixels_is_refused(member_client):
    bomb = image_bytes(fmt="PNG", size=(10_000, 10_000))
    _url, response = tus_upload(member_client, bomb, name="scan.png", chunk=1024 * 1024)
    assert response.status_code == 422
    assert "Bildpunkte" in response.json()["message"]
    assert not Upload.objects.exists()


def test_name_with_path_is_sanitised(member_client):
    # Control characters are refused by the tus header parsing (tests/uploads/test_tus_headers.py).
    tus_upload(member_client, pdf_bytes(), name="../../etc/pass\u200bwd.pdf")
    upload = Upload.objects.get()
    assert upload.name == "passwd.pdf"
    assert "/" not in upload.name


def test_name_of_300_characters_is_shortened_keeping_extension(member_client):
    tus_upload(member_client, pdf_bytes(), name="B" * 300 + ".pdf")
    name = Upload.objects.get().name
    assert len(name) <= 120 and name.endswith(".pdf")


def test_encrypted_pdf_is_refused_with_clear_message(member_client):
    _url, response = tus_upload(member_client, pdf_bytes(encrypt=True))
    assert response.status_code == 422
    assert "verschlüsselt" in response.json()["message"]


def test_jpeg_named_pdf_is_refused_as_mismatch(member_client):
    _url, response = tus_upload(member_client, image_bytes(fmt="JPEG"), name="Befund.pdf")
    assert response.status_code == 415


# --- plain form without JavaScript


def test_plain_form_upload_stores_the_file(member_client):
    data = pdf_bytes()
    response = member_client.post(reverse("uploads:file_upload"), {"file": io.BytesIO(data)}, format="multipart")
    assert response.status_code == 302
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()


def test_plain_form_upload_over_limit_is_refused_before_reading(member_client, settings):
    settings.UPLOAD_MAX_FILE_SIZE = 1000
    response = member_client.post(
        reverse("uploads:file_upload"), {"file": io.BytesIO(b"%PDF" + b"x" * 200_000)}, format="multipart"
    )
    assert response.status_code == 303
    assert not Upload.objects.exists()


# --- autosave


def test_autosave_returns_new_version_and_saved_time(member_client, member):
    draft = services.draft_get_or_create(member=member)
    response = member_client.post(reverse("uploads:autosave"), {"version": draft.version, "message": "Hallo"})
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert "Gespeichert um" in response.json()["message"]


def test_autosave_from_stale_tab_answers_409_and_keeps_newer_text(member_client, member):
    services.draft_get_or_create(member=member)
    member_client.post(reverse("uploads:autosave"), {"version": 1, "message": "neu"})
    response = member_client.post(reverse("uploads:autosave"), {"version": 1, "message": "alt"})
    assert response.status_code == 409
    assert Draft.objects.get().message == "neu"


def test_autosave_keeps_valid_fields_and_reports_invalid_ones(member_client, member):
    services.draft_get_or_create(member=member)
    response = member_client.post(reverse("uploads:autosave"), {"version": 1, "message": "Hallo", "email": "max@"})
    assert "email" in response.json()["errors"]
    assert Draft.objects.get().message == "Hallo"


def test_save_for_later_without_javascript_saves_and_redirects(member_client, member):
    services.draft_get_or_create(member=member)
    response = member_client.post(reverse("uploads:draft"), {"version": 1, "message": "ohne JS"})
    assert response.status_code == 302
    assert Draft.objects.get().message == "ohne JS"


def test_draft_page_shows_unfinished_upload_offered_for_resume(member_client, member):
    draft = services.draft_get_or_create(member=member)
    services.upload_create(draft=draft, name="halb.pdf", length=5000, fingerprint="fp", actor=Actor.system())
    response = member_client.get(reverse("uploads:draft"))
    assert "halb.pdf" in response.content.decode()
    assert "fortzusetzen" in response.content.decode()


def test_draft_page_needs_a_member_session(client):
    assert client.get(reverse("uploads:draft")).status_code == 302


def test_draft_page_refuses_a_session_whose_pin_was_invalidated(member_client, member):
    LetterPin.objects.filter(member=member).update(status=PinStatus.INVALIDATED)
    assert member_client.get(reverse("uploads:draft")).status_code == 302


# --- downloads


def test_download_is_an_attachment_with_rfc6266_name_nosniff_and_no_store(member_client):
    data = pdf_bytes()
    tus_upload(member_client, data, name="Bescheinigung für Ärztin.pdf")
    upload = Upload.objects.get()
    response = member_client.get(reverse("uploads:file_download", args=[upload.public_id]))
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == upload.sha256  # disarmed copy
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''Bescheinigung%20f%C3%BCr")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_download_of_an_unreadable_file_says_so_on_the_draft_page(member_client, monkeypatch, caplog):
    tus_upload(member_client, pdf_bytes(), name="Bescheinigung.pdf")
    upload = Upload.objects.get()

    def unreadable(*args, **kwargs):
        raise disk_error(errno.EACCES)

    monkeypatch.setattr(storages["default"], "open", unreadable)
    response = member_client.get(reverse("uploads:file_download", args=[upload.public_id]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("uploads:draft")
    assert "Die Datei kann gerade nicht geöffnet werden" in response.content.decode()
    assert "EACCES" in caplog.text


def test_download_that_fails_to_decrypt_is_refused_with_a_message_and_logged_as_an_error(
    member_client, settings, caplog
):
    tus_upload(member_client, pdf_bytes(), name="Bescheinigung.pdf")
    upload = Upload.objects.get()
    settings.FILE_ENCRYPTION_KEYS = ["other:" + base64.urlsafe_b64encode(b"k" * 32).decode()]
    response = member_client.get(reverse("uploads:file_download", args=[upload.public_id]))
    assert response.status_code == 302
    assert [r.levelname for r in caplog.records if "cannot be decrypted" in r.getMessage()] == ["ERROR"]


# --- transmission


def ready(member_client, member):
    draft = services.draft_get_or_create(member=member)
    reason = SubmissionReason.objects.get(code="form")
    member_client.post(reverse("uploads:autosave"), {"version": draft.version, "reason": reason.pk})
    tus_upload(member_client, pdf_bytes())


def test_transmit_without_confirmation_stays_on_review_with_message(member_client, member):
    ready(member_client, member)
    response = member_client.post(reverse("uploads:transmit"), {})
    assert response.status_code == 400
    assert "bestätigen" in response.content.decode()
    assert not Submission.objects.exists()


def test_transmit_ends_session_and_shows_reference(member_client, member):
    ready(member_client, member)
    response = member_client.post(reverse("uploads:transmit"), {"confirm": "on"}, follow=True)
    submission = Submission.objects.get()
    assert submission.reference in response.content.decode()
    assert member_client.get(reverse("uploads:draft")).status_code == 302
    assert all(pin.status == PinStatus.INVALIDATED for pin in LetterPin.objects.filter(member=member))


def test_done_page_says_what_happens_next_and_that_all_pins_ended(member_client, member):
    ready(member_client, member)
    html = member_client.post(reverse("uploads:transmit"), {"confirm": "on"}, follow=True).content.decode()
    assert "Wie es weitergeht" in html
    assert "alle Ihre PINs" in html
    assert "Ihre PIN " not in html and "Ihre PIN ist" not in html


def test_review_without_confirmation_has_an_error_summary_and_error_title(member_client, member):
    ready(member_client, member)
    html = member_client.post(reverse("uploads:transmit"), {}).content.decode()
    assert "<title>Fehler:" in html
    assert 'href="#id_confirm"' in html
    assert "novalidate" in html


def test_double_submit_creates_one_submission(member_client, member):
    ready(member_client, member)
    draft = Draft.objects.get()
    first = services.draft_transmit(draft=draft, actor=Actor.member(member.user), confirmed=True)
    assert services.draft_transmit(draft=draft, actor=Actor.member(member.user), confirmed=True) == first
    assert Submission.objects.count() == 1


def test_receipt_pdf_is_downloadable_after_transmission(member_client, member):
    ready(member_client, member)
    member_client.post(reverse("uploads:transmit"), {"confirm": "on"})
    response = member_client.get(reverse("uploads:receipt"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_receipt_is_gone_once_its_time_is_over(member_client, member):
    from django.utils import timezone

    ready(member_client, member)
    member_client.post(reverse("uploads:transmit"), {"confirm": "on"})
    Submission.objects.update(receipt_available_until=timezone.now())
    assert member_client.get(reverse("uploads:receipt")).status_code == 404


def test_only_the_listed_segments_remain_once_complete(member_client, file_checks):
    file_checks.auto = False  # the segments as received, before the worker swaps in the disarmed copy
    tus_upload(member_client, pdf_bytes(padding=100_000))
    upload = Upload.objects.get()
    assert upload.status == UploadStatus.COMPLETE
    assert stored_names() == [f"{upload.storage_name}{segment['key']}" for segment in upload.segments]


def test_draft_page_is_available_in_english(member_client):
    member_client.cookies["portal_language"] = "en"
    page = member_client.get(reverse("uploads:draft")).content.decode()
    assert "Save for later" in page


def test_refusal_message_is_in_the_members_language(member_client):
    member_client.cookies["portal_language"] = "en"
    response = tus_create(member_client, 0)
    assert response.json()["message"] == "The file is empty. Please choose another file."


# --- storage failures (disk full, read-only, no permission)

STORAGE_MESSAGE = "Die Datei konnte gerade nicht gespeichert werden"


def failing_write(code: int):
    """The local write, failing after the first bytes reached the disk (as a full disk does)."""
    original = core_storage._local_write

    def write(storage, name, chunks):
        def failing():
            yield from itertools.islice(chunks, 1)
            raise disk_error(code)

        original(storage, name, failing())

    return write


def stored_names() -> list[str]:
    return sorted(name for name, _modified in core_storage.list_files(storages["default"], "documents"))


def test_disk_full_while_storing_a_chunk_answers_507_and_keeps_the_offset(member_client, monkeypatch, caplog):
    data = pdf_bytes(padding=100_000)
    url = tus_create(member_client, len(data))["Location"]
    monkeypatch.setattr(core_storage, "_local_write", failing_write(errno.ENOSPC))
    response = tus_patch(member_client, url, 0, data[:65536])
    assert response.status_code == 507
    assert STORAGE_MESSAGE in response.json()["message"]
    assert member_client.head(url, **TUS)["Upload-Offset"] == "0"
    assert Upload.objects.get().offset == 0
    assert "ENOSPC" in caplog.text
    assert "%PDF" not in caplog.text


def test_after_the_disk_has_room_again_the_same_chunk_is_accepted(member_client, monkeypatch):
    data = pdf_bytes(padding=100_000)
    url = tus_create(member_client, len(data))["Location"]
    with monkeypatch.context() as patched:
        patched.setattr(core_storage, "_local_write", failing_write(errno.ENOSPC))
        assert tus_patch(member_client, url, 0, data).status_code == 507
    response = tus_patch(member_client, url, 0, data)
    assert response["Upload-Complete"] == "1"
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()


def test_read_only_disk_while_storing_the_encrypted_file_answers_503_and_the_upload_can_resume(
    member_client, monkeypatch, caplog
):
    data = pdf_bytes(padding=100_000)
    url = tus_create(member_client, len(data))["Location"]
    assert tus_patch(member_client, url, 0, data[:65536]).status_code == 204
    with monkeypatch.context() as patched:
        patched.setattr(core_storage, "_local_write", failing_write(errno.EROFS))
        response = tus_patch(member_client, url, 65536, data[65536:])
    assert response.status_code == 503
    assert STORAGE_MESSAGE in response.json()["message"]
    upload = Upload.objects.get()
    assert (upload.offset, upload.status, len(upload.segments)) == (65536, UploadStatus.IN_PROGRESS, 1)
    assert stored_names() == [f"{upload.storage_name}000000000000"]
    assert "EROFS" in caplog.text
    final = tus_patch(member_client, url, 65536, data[65536:])
    assert final["Upload-Complete"] == "1"
    assert Upload.objects.get().sent_sha256 == hashlib.sha256(data).hexdigest()


def test_a_failed_chunk_leaves_no_partial_segment(member_client, monkeypatch):
    data = pdf_bytes(padding=100_000)
    url = tus_create(member_client, len(data))["Location"]
    monkeypatch.setattr(core_storage, "_local_write", failing_write(errno.ENOSPC))
    tus_patch(member_client, url, 0, data[:65536])
    assert stored_names() == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_plain_form_upload_on_a_failing_disk_shows_the_message_on_the_draft_page(
    member_client, member, monkeypatch, code
):
    draft = services.draft_get_or_create(member=member)
    member_client.post(reverse("uploads:autosave"), {"version": draft.version, "message": "Bitte prüfen"})
    monkeypatch.setattr(core_storage, "_local_write", failing_write(code))
    # On a read-only disk removing the leftovers fails as well.
    monkeypatch.setattr(core_storage, "delete", lambda storage, name: (_ for _ in ()).throw(disk_error(code)))
    response = member_client.post(
        reverse("uploads:file_upload"), {"file": io.BytesIO(pdf_bytes())}, format="multipart", follow=True
    )
    assert response.status_code == 200
    assert STORAGE_MESSAGE in response.content.decode()
    assert not Upload.objects.exists()
    assert Draft.objects.get().message == "Bitte prüfen"


def test_database_lost_at_the_upload_row_lock_answers_503_not_busy(member, issue_pin):
    client = login_member(Client(raise_request_exception=False), issue_pin(member).pin)
    data = pdf_bytes()
    url = tus_create(client, len(data))["Location"]

    def the_row_lock(sql: str) -> bool:
        # The locking read takes the upload's row by its id alone; the member's lookup before it joins the draft.
        return (
            sql.lstrip().upper().startswith("SELECT") and 'FROM "uploads_upload" WHERE "uploads_upload"."id" = ' in sql
        )

    with database_unreachable(the_row_lock):
        response = tus_patch(client, url, 0, data)
    assert response.status_code == 503
    assert Upload.objects.get().offset == 0
