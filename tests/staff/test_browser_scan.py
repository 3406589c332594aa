"""In Chromium with the real clamd: a hostile PDF reaches the case worker disarmed, an infected one never does."""

import io

import pikepdf
import pytest

from scanning.disarm import pdf_active_content
from staff.constants import Role
from tests.clamav.daemon import EICAR
from tests.scanning.pdfs import pdf_bytes as hostile_pdf
from tests.uploads.factories import SubmissionReasonFactory
from tests.uploads.test_browser import member_context
from uploads.models import QuarantinedFile, Submission

from .factories import browser_log_in, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _upload(page, name: str, data: bytes) -> None:
    page.goto("/antrag/")
    page.select_option("#id_reason", label="Bescheinigung")
    page.wait_for_selector("#save-status:has-text('Gespeichert um')")
    page.set_input_files("#file-input", files=[{"name": name, "mimeType": "application/pdf", "buffer": data}])


def test_hostile_pdf_reaches_the_case_worker_disarmed(browser, live_server, member, issue_pin, real_clamd, tmp_path):
    SubmissionReasonFactory(code="certificate", label_de="Bescheinigung", label_en="Certificate")
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    _upload(page, "Attest.pdf", hostile_pdf("all"))
    page.wait_for_selector(".file-state[data-file-state=clean]", timeout=30_000)
    page.goto("/antrag/pruefen/")
    page.check("#id_confirm")
    page.click(".transmit-form button[type=submit]")
    page.wait_for_selector("#reference")
    context.close()

    submission = Submission.objects.get()
    staff = browser.new_context(base_url=live_server.url, locale="de-DE", accept_downloads=True)
    page = staff.new_page()
    browser_log_in(page, make_staff(Role.CASE_WORKER))
    page.goto(f"/mitarbeiter/eingang/{submission.reference}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Attest.pdf herunterladen").click()
    saved = tmp_path / "download.pdf"
    download.value.save_as(saved)
    staff.close()
    with pikepdf.open(io.BytesIO(saved.read_bytes())) as pdf:
        assert pdf_active_content(pdf) == []
        assert len(pdf.pages) == 1


def test_infected_pdf_is_named_to_the_member_and_never_transmitted(browser, live_server, member, issue_pin, real_clamd):
    SubmissionReasonFactory(code="certificate", label_de="Bescheinigung", label_en="Certificate")
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    _upload(page, "Rechnung.pdf", hostile_pdf(extra_attachment=EICAR))
    state = page.wait_for_selector(".file-state[data-file-state=infected]", timeout=30_000)
    assert "Rechnung.pdf" in state.inner_text() and "Schadsoftware" in state.inner_text()
    page.goto("/antrag/pruefen/")
    page.check("#id_confirm")
    page.click(".transmit-form button[type=submit]")
    page.wait_for_selector("text=Bitte entfernen Sie zuerst diese Dateien")
    context.close()
    assert not Submission.objects.exists()
    assert QuarantinedFile.objects.count() == 1
