"""Tests for letters/services/: requesting, rendering (one PIN, one PDF), cancelling, collecting, purging."""

import csv
import datetime
import errno
import hashlib
import io
import logging

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from audit.constants import AuditAction
from audit.models import AuditEvent
from audit.services import Actor
from core.crypto import DecryptionError, generate_key_entry
from letters.constants import LetterStatus
from letters.exceptions import LetterStateError
from letters.models import LetterRequest, PrintBatch
from letters.rendering import LetterRenderError
from letters.services import (
    batch_collect,
    letter_cancel,
    letter_mark_failed,
    letter_purge_pdfs,
    letter_release,
    letter_render,
    letter_request_create,
    letter_requeue_stale,
    letter_retry,
    printing,
    worker,
)
from pins.constants import EndReason, PinStatus
from pins.models import LetterPin
from pins.services import pin_invalidate, pin_verify
from tests.factories import MemberFactory
from tests.letters.pdf import pin_in


def collect(user=None, limit=500):
    pdf, manifest = io.BytesIO(), io.StringIO()
    batch = batch_collect(user=user, pdf_out=pdf, manifest_out=manifest, limit=limit)
    return batch, pdf.getvalue(), list(csv.DictReader(io.StringIO(manifest.getvalue())))


def all_database_text() -> str:
    """Every row of every table, as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from introspection
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def test_request_is_written_with_history_and_audit_before_the_worker_runs(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        letter = letter_request_create(member=member, purpose="Import", actor=Actor.system())
    assert letter.status == LetterStatus.REQUESTED
    assert list(letter.history.values_list("status", flat=True)) == [LetterStatus.REQUESTED]
    assert AuditEvent.objects.filter(action=AuditAction.LETTER_REQUESTED, member=member).count() == 1
    assert len(callbacks) == 1
    assert not LetterPin.objects.filter(member=member).exists()


def test_only_the_request_id_goes_to_the_broker(member, monkeypatch, django_capture_on_commit_callbacks):
    from letters.tasks import render_letter_task

    sent = []
    monkeypatch.setattr(render_letter_task, "apply_async", lambda args, **options: sent.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    assert sent == [(letter.pk,)]


def test_rendered_letter_has_one_active_pin_and_one_encrypted_pdf(member, request_letter, letter_pdf):
    letter = request_letter(member)
    assert letter.status == LetterStatus.RENDERED
    assert letter.pin.status == PinStatus.ACTIVE
    assert LetterPin.objects.filter(member=member).count() == 1
    assert letter.pages == 1
    raw = storages["default"].open(letter.pdf_name).read()
    assert not raw.startswith(b"%PDF")
    pdf = letter_pdf(letter)
    assert hashlib.sha256(pdf).hexdigest() == letter.pdf_sha256
    assert list(letter.history.values_list("status", flat=True)) == [LetterStatus.REQUESTED, LetterStatus.RENDERED]


def test_pin_printed_in_the_letter_logs_the_member_in(member, request_letter, letter_pdf):
    letter = request_letter(member)
    outcome = pin_verify(kvnr=member.kvnr, pin=pin_in(letter_pdf(letter)), ip=None)
    assert outcome.ok
    assert outcome.pin == letter.pin


def test_valid_until_printed_is_the_pins_expiry(member, request_letter, letter_pdf):
    letter = request_letter(member)
    text = " ".join(PdfReader(io.BytesIO(letter_pdf(letter))).pages[0].extract_text().split())
    expected = timezone.localdate(letter.pin.expires_at)
    # Valid through the 60th day after issue, in the portal's zone (pins.services.pin_valid_until).
    assert expected == timezone.localdate(letter.pin.issued_at) + datetime.timedelta(days=60)
    assert f"{expected.day}. " in text
    assert str(expected.year) in text


@pytest.mark.django_db(transaction=True)
def test_pin_is_nowhere_in_the_database_or_the_logs(caplog, letter_pdf):
    caplog.set_level(logging.DEBUG)
    member = MemberFactory()
    letter = letter_request_create(member=member, purpose="Neue PIN", actor=Actor.system())
    letter.refresh_from_db()
    printed = pin_in(letter_pdf(letter))
    plain = printed.replace("-", "")
    database = all_database_text()
    logs = caplog.text + "\n".join(repr(record.args) for record in caplog.records)
    for form in (printed, plain, plain.lower(), printed.lower()):
        assert form not in database
        assert form not in logs


def test_rendering_twice_gives_one_pin_and_one_pdf(member, request_letter):
    letter = request_letter(member)
    letter_render(request_id=letter.pk)
    letter_render(request_id=letter.pk)
    assert LetterPin.objects.filter(member=member).count() == 1
    assert storages["default"].listdir("letters")[1] == [f"{letter.pk}.pdf.enc"]
    assert LetterRequest.objects.get(pk=letter.pk).pdf_sha256 == letter.pdf_sha256


def test_failed_render_rolls_back_its_pin(member, monkeypatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())

    def broken(*, content):
        raise LetterRenderError("Brief konnte nicht gesetzt werden (ValueError)")

    monkeypatch.setattr(worker, "render_letter", broken)
    with pytest.raises(LetterRenderError):
        letter_render(request_id=letter.pk)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.REQUESTED
    assert letter.attempts == 1
    assert not LetterPin.objects.filter(member=member).exists()


def test_retry_after_a_crash_overwrites_the_half_written_pdf(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    storage = storages["default"]
    storage.save(letter.storage_name, io.BytesIO(b"left over by a killed worker"))
    letter_render(request_id=letter.pk)
    letter.refresh_from_db()
    assert letter.pdf_name == letter.storage_name
    assert storage.listdir("letters")[1] == [f"{letter.pk}.pdf.enc"]


def test_cancel_invalidates_the_pin_and_deletes_the_pdf(member, request_letter, django_capture_on_commit_callbacks):
    letter = request_letter(member)
    staff = Actor.staff(member.user)
    with django_capture_on_commit_callbacks(execute=True):
        letter_cancel(letter=letter, actor=staff)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.CANCELLED
    assert letter.pin.status == PinStatus.INVALIDATED
    assert letter.pin.end_reason == EndReason.CANCELLED
    assert letter.pdf_name == ""
    assert not storages["default"].exists(letter.storage_name)
    assert letter.history.last().status == LetterStatus.CANCELLED


def test_cancel_on_a_read_only_disk_still_cancels_and_logs_the_file_left_behind(
    member, request_letter, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    letter = request_letter(member)

    def read_only(name):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(storages["default"], "delete", read_only)
    with django_capture_on_commit_callbacks(execute=True):
        letter_cancel(letter=letter, actor=Actor.staff(member.user))
    letter.refresh_from_db()
    assert letter.status == LetterStatus.CANCELLED
    assert letter.pin.status == PinStatus.INVALIDATED
    assert [r.levelname for r in caplog.records if "could not be deleted" in r.getMessage()] == ["ERROR"]
    assert any("EROFS" in r.getMessage() for r in caplog.records)


def test_cancel_before_rendering_leaves_the_worker_nothing_to_do(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    letter_cancel(letter=letter, actor=Actor.system())
    letter_render(request_id=letter.pk)
    assert not LetterPin.objects.filter(member=member).exists()
    assert LetterRequest.objects.get(pk=letter.pk).status == LetterStatus.CANCELLED


def test_cancel_after_collection_is_refused(member, request_letter):
    letter = request_letter(member)
    collect()
    with pytest.raises(LetterStateError):
        letter_cancel(letter=letter, actor=Actor.system())
    letter.pin.refresh_from_db()
    assert letter.pin.status == PinStatus.ACTIVE


def test_broker_down_loses_nothing_and_the_requeue_renders_the_request(
    member, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from kombu.exceptions import OperationalError as BrokerDown

    from letters.tasks import render_letter_task

    def unreachable(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(render_letter_task, "apply_async", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    assert LetterRequest.objects.get(pk=letter.pk).status == LetterStatus.REQUESTED
    assert "not enqueued" in caplog.text

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        count = letter_requeue_stale(now=timezone.now() + datetime.timedelta(minutes=10))
    assert count == 1
    assert LetterRequest.objects.get(pk=letter.pk).status == LetterStatus.RENDERED


def test_requeue_leaves_fresh_requests_alone(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    assert letter_requeue_stale() == 0


def test_requeue_gives_up_on_a_request_the_worker_died_on_too_often(
    member, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks():
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    LetterRequest.objects.filter(pk=letter.pk).update(attempts=settings.LETTER_MAX_ATTEMPTS)
    assert letter_requeue_stale(now=timezone.now() + datetime.timedelta(minutes=10)) == 0
    letter.refresh_from_db()
    assert letter.status == LetterStatus.FAILED
    assert letter.failure_reason


def test_a_failed_letter_can_be_sent_to_the_worker_again(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    letter_mark_failed(request_id=letter.pk, reason="Brief konnte nicht gesetzt werden (ValueError)")
    with django_capture_on_commit_callbacks(execute=True):
        letter_retry(letter=letter, actor=Actor.system())
    letter.refresh_from_db()
    assert letter.status == LetterStatus.RENDERED
    assert letter.failure_reason == ""
    assert [change.status for change in letter.history.all()] == [
        LetterStatus.REQUESTED,
        LetterStatus.FAILED,
        LetterStatus.REQUESTED,
        LetterStatus.RENDERED,
    ]


def test_only_a_failed_letter_can_be_retried(member, request_letter):
    with pytest.raises(LetterStateError):
        letter_retry(letter=request_letter(member), actor=Actor.system())


def test_batch_pages_follow_the_manifest_order(request_letter, letter_pdf):
    letters = [request_letter(MemberFactory(last_name=f"Reihe{n}")) for n in range(3)]
    batch, merged, manifest = collect()
    reader = PdfReader(io.BytesIO(merged))
    assert [int(row["letter_id"]) for row in manifest] == [letter.pk for letter in letters]
    assert len(reader.pages) == 3 == batch.page_count
    for row, page in zip(manifest, reader.pages, strict=True):
        assert row["reference"] in page.extract_text()
        letter = LetterRequest.objects.get(pk=row["letter_id"])
        assert row["sha256"] == hashlib.sha256(letter_pdf(letter)).hexdigest()
        assert row["pages"] == "1"


def test_batch_marks_letters_collected_by_whom_and_when(member, request_letter, staff_user):
    letter = request_letter(member)
    user = staff_user("collect_letters")
    batch, _, _ = collect(user=user)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.COLLECTED
    assert letter.collected_by == user
    assert letter.collected_at == batch.collected_at
    assert letter.batch == batch
    event = AuditEvent.objects.get(action=AuditAction.LETTER_COLLECTED)
    assert event.actor_user == user
    assert event.data == {"letter_id": letter.pk, "batch_id": batch.pk}


def test_a_letter_is_collected_only_once(member, request_letter):
    request_letter(member)
    _, _, rows = collect()
    second, pdf, _ = collect()
    assert len(rows) == 1
    assert second is None
    assert pdf == b""
    assert PrintBatch.objects.count() == 1


def test_batch_limit_leaves_the_rest_for_the_next_batch(request_letter):
    letters = [request_letter(MemberFactory()) for _ in range(3)]
    _, _, first = collect(limit=2)
    _, _, second = collect(limit=2)
    assert [int(row["letter_id"]) for row in first + second] == [letter.pk for letter in letters]


def test_decrypting_with_a_wrong_key_fails_loudly_and_collects_nothing(member, request_letter, settings):
    letter = request_letter(member)
    settings.FILE_ENCRYPTION_KEYS = [generate_key_entry("dev1")]
    with pytest.raises(DecryptionError):
        collect()
    letter.refresh_from_db()
    assert letter.status == LetterStatus.RENDERED
    assert not PrintBatch.objects.exists()


def test_a_pdf_moved_to_another_letter_does_not_decrypt(request_letter):
    first, second = request_letter(MemberFactory()), request_letter(MemberFactory())
    storage = storages["default"]
    with storage.open(first.pdf_name) as src:
        foreign = src.read()
    storage.delete(second.pdf_name)
    storage.save(second.pdf_name, io.BytesIO(foreign))
    LetterRequest.objects.filter(pk=first.pk).update(status=LetterStatus.CANCELLED)
    with pytest.raises(DecryptionError):
        collect()


def test_letters_whose_pin_ended_are_not_handed_out(member, request_letter):
    letter = request_letter(member)
    pin_invalidate(pin=letter.pin, reason=EndReason.STAFF, actor=Actor.system())
    batch, _, _ = collect()
    assert batch is None


def test_release_puts_a_collected_letter_back_once_and_audits_it(member, request_letter, staff_user):
    letter = request_letter(member)
    user = staff_user("release_letters")
    first, _, _ = collect()
    letter_release(letter=letter, actor=Actor.staff(user))
    letter.refresh_from_db()
    assert letter.status == LetterStatus.RENDERED
    assert letter.collected_at is None
    assert AuditEvent.objects.get(action=AuditAction.LETTER_RELEASED).data == {
        "letter_id": letter.pk,
        "batch_id": first.pk,
    }
    _, _, rows = collect()
    assert [int(row["letter_id"]) for row in rows] == [letter.pk]
    assert collect()[0] is None


def test_release_of_a_letter_not_collected_is_refused(member, request_letter):
    letter = request_letter(member)
    with pytest.raises(LetterStateError):
        letter_release(letter=letter, actor=Actor.system())


def test_purge_deletes_pdfs_after_the_retention_and_keeps_the_history(
    member, request_letter, settings, django_capture_on_commit_callbacks
):
    letter = request_letter(member)
    collect()
    settings.LETTER_PDF_RETENTION_DAYS = 7
    with django_capture_on_commit_callbacks(execute=True):
        assert letter_purge_pdfs(now=timezone.now() + datetime.timedelta(days=6)) == 0
        assert letter_purge_pdfs(now=timezone.now() + datetime.timedelta(days=8)) == 1
    letter.refresh_from_db()
    assert letter.pdf_name == ""
    assert letter.pdf_deleted_at is not None
    assert not storages["default"].exists(letter.storage_name)
    assert letter.status == LetterStatus.COLLECTED
    assert [change.status for change in letter.history.all()] == [
        LetterStatus.REQUESTED,
        LetterStatus.RENDERED,
        LetterStatus.COLLECTED,
        LetterStatus.COLLECTED,
    ]
    with pytest.raises(LetterStateError):
        letter_release(letter=letter, actor=Actor.system())


def test_purge_cancels_unprinted_letters_whose_pin_ended(member, request_letter, django_capture_on_commit_callbacks):
    letter = request_letter(member)
    pin_invalidate(pin=letter.pin, reason=EndReason.TRANSMITTED, actor=Actor.system())
    with django_capture_on_commit_callbacks(execute=True):
        letter_purge_pdfs()
    letter.refresh_from_db()
    assert letter.status == LetterStatus.CANCELLED
    assert not storages["default"].exists(letter.storage_name)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks (SKIP LOCKED) need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_collections_at_once_never_hand_out_the_same_letter(monkeypatch):
    import threading

    from django.db import connections

    for _ in range(3):
        letter_request_create(member=MemberFactory(), purpose="Neu", actor=Actor.system())
    started, release = threading.Event(), threading.Event()
    real_write = printing._write_batch

    def slow_write(**kwargs):
        if threading.current_thread().name == "first":
            started.set()
            release.wait(timeout=60)
        return real_write(**kwargs)

    monkeypatch.setattr(printing, "_write_batch", slow_write)
    results = {}

    def first():
        try:
            results["first"] = collect(limit=2)[2]
        finally:
            connections.close_all()

    thread = threading.Thread(target=first, name="first")
    thread.start()
    assert started.wait(timeout=60)
    results["second"] = collect(limit=5)[2]
    release.set()
    thread.join()
    first_ids = [row["letter_id"] for row in results["first"]]
    second_ids = [row["letter_id"] for row in results["second"]]
    assert len(first_ids) == 2
    assert len(second_ids) == 1
    assert not set(first_ids) & set(second_ids)
