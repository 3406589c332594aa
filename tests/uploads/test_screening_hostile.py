"""The worker's check against what gets past a scan of the original only: payloads under filters clamd does not
decode (the delivered copy is scanned too), active content under keys of the attacker's choosing (the copy is
checked again), files too complex to disarm (refused with their own message, audited, never retried for ever)."""

import io

import pikepdf
import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.urls import reverse

from audit.constants import AuditAction
from audit.models import AuditEvent
from scanning.disarm import pdf_active_content
from tests.clamav.daemon import EICAR
from tests.scanning.hostile import embedded_under_custom_key, flate_bomb_pdf, pdf_with_payload
from tests.scanning.pdfs import pdf_bytes as harmless_pdf
from uploads import screening, services, tasks
from uploads.constants import ScanStatus
from uploads.models import QuarantinedFile, Upload

from .factories import upload_whole

pytestmark = pytest.mark.django_db

FILTERS = [
    ["/LZWDecode"],
    ["/RunLengthDecode"],
    ["/ASCII85Decode"],
    ["/ASCII85Decode", "/LZWDecode"],
    ["/LZWDecode", "/RunLengthDecode"],
]


@pytest.mark.parametrize("place", ["page", "xobject", "inline", "objstm"])
@pytest.mark.parametrize("filters", FILTERS, ids="+".join)
def test_eicar_under_any_filter_anywhere_is_quarantined(real_clamd, draft, actor, filters, place):
    upload = upload_whole(draft, actor, pdf_with_payload(EICAR, filters, place=place))
    assert upload.scan_status == ScanStatus.INFECTED and upload.storage_name == ""
    quarantined = QuarantinedFile.objects.get(public_id=upload.public_id)
    assert quarantined.signature.startswith("Portal.Test.EICAR-1") and quarantined.segments
    assert AuditEvent.objects.filter(action=AuditAction.DOCUMENT_QUARANTINED).count() == 1


def test_a_harmless_pdf_under_lzw_is_released_with_every_stream_in_flate(real_clamd, draft, actor):
    upload = upload_whole(draft, actor, pdf_with_payload(b"just a comment", ["/LZWDecode"], place="xobject"))
    assert upload.scan_status == ScanStatus.CLEAN
    with pikepdf.open(io.BytesIO(b"".join(services.upload_open(upload=upload)))) as pdf:
        filters = {str(obj.get("/Filter")) for obj in pdf.objects if isinstance(obj, pikepdf.Stream)}
    assert filters == {"/FlateDecode"}


def test_an_embedded_file_under_a_custom_catalog_key_does_not_reach_the_case_worker(real_clamd, draft, actor):
    payload = b"MZ\x90\x00 custom-key payload"
    upload = upload_whole(draft, actor, embedded_under_custom_key(payload))
    assert upload.scan_status == ScanStatus.CLEAN
    copy = b"".join(services.upload_open(upload=upload))
    assert payload not in copy
    with pikepdf.open(io.BytesIO(copy)) as pdf:
        assert pdf_active_content(pdf) == []


def test_a_flate_bomb_is_refused_as_too_complex_audited_and_told_to_the_member(
    real_clamd, member_client, member, draft, actor
):
    upload = upload_whole(draft, actor, flate_bomb_pdf(256 * 2**20), name="Befund.pdf")
    assert (upload.scan_status, upload.scan_note) == (ScanStatus.REFUSED, "too_complex")
    assert not upload.is_deliverable and upload.storage_name == ""
    event = AuditEvent.objects.get(action=AuditAction.DOCUMENT_REFUSED)
    assert event.data["why"] == "too_complex" and 0 < event.data["peak_rss"] < 512 * 2**20
    page = member_client.get(reverse("uploads:draft")).content.decode()
    assert "„Befund.pdf“ ist zu komplex, um es sicher zu prüfen" in page
    assert "als einfaches PDF oder Foto" in page
    member_client.cookies["portal_language"] = "en"
    english = member_client.get(reverse("uploads:draft")).content.decode()
    assert "is too complex to check safely" in english


def test_a_check_whose_process_died_twice_is_refused_not_redelivered_for_ever(draft, actor, file_checks, monkeypatch):
    file_checks.auto = False
    upload = upload_whole(draft, actor, harmless_pdf())

    def timed_out(row):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(screening, "_screen", timed_out)
    for _run in range(2):
        with pytest.raises(SoftTimeLimitExceeded):
            tasks.screen_upload(upload.pk)
    monkeypatch.undo()
    assert tasks.screen_upload(upload.pk) == ScanStatus.REFUSED
    upload.refresh_from_db()
    assert (upload.scan_status, upload.scan_note) == (ScanStatus.REFUSED, "too_complex")
    assert AuditEvent.objects.get(action=AuditAction.DOCUMENT_REFUSED).data["attempts"] == 2
    assert tasks.screen_upload(upload.pk) == "skipped"  # a redelivery after the verdict does nothing


def test_an_ordinary_error_does_not_count_as_a_dead_check(draft, actor, file_checks, monkeypatch):
    file_checks.auto = False
    upload = upload_whole(draft, actor, harmless_pdf())

    def broken(row):
        raise RuntimeError("database away")

    monkeypatch.setattr(screening, "_screen", broken)
    for _run in range(3):
        with pytest.raises(RuntimeError):
            tasks.screen_upload(upload.pk)
    monkeypatch.undo()
    assert tasks.screen_upload(upload.pk) == ScanStatus.UNSCANNED
    assert Upload.objects.get(pk=upload.pk).is_deliverable


def test_no_verdict_on_the_disarmed_copy_holds_the_file(real_clamd, draft, actor, monkeypatch):
    """Fail closed on the second scan too: clamd gone between the original and the copy holds the file."""
    from scanning import clamd

    real_scan, calls = clamd.scan_stream, []

    def gone_after_the_first(src, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise clamd.ScannerUnavailable("unreachable")
        return real_scan(src, **kwargs)

    monkeypatch.setattr(clamd, "scan_stream", gone_after_the_first)
    upload = upload_whole(draft, actor, harmless_pdf("launch"))
    assert (upload.scan_status, upload.scan_note) == (ScanStatus.HELD, "unreachable")
    assert len(calls) == 2 and not upload.is_deliverable


def test_eicar_behind_a_png_predictor_is_quarantined(real_clamd, draft, actor):
    """A predictor puts a filter byte before every row: the payload is split in the Flate data clamd inflates."""
    import zlib

    from tests.scanning.pdfs import _base

    columns = 16
    body = b"% " + EICAR + b"\n"
    body += b" " * (-len(body) % columns)
    rows = b"".join(b"\x00" + body[i : i + columns] for i in range(0, len(body), columns))
    pdf = _base()
    stream = pdf.make_stream(b"")
    stream.write(
        zlib.compress(rows),
        filter=pikepdf.Name.FlateDecode,
        decode_parms=pikepdf.Dictionary(Predictor=12, Columns=columns),
    )
    page = pdf.pages[0].obj
    page.Contents = pikepdf.Array([page.Contents, stream])
    out = io.BytesIO()
    pdf.save(out, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    upload = upload_whole(draft, actor, out.getvalue())
    assert upload.scan_status == ScanStatus.INFECTED
