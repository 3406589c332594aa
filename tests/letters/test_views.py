"""Tests for letters/views.py: the print shop's queue and download, re-release, the specimen, and who may see them."""

import csv
import io
import zipfile

import django_otp
import pytest
from django.urls import reverse
from pypdf import PdfReader

from letters.constants import LetterStatus
from letters.models import LetterRequest
from letters.rendering import SPECIMEN_PIN
from pins.models import LetterPin
from tests.factories import MemberFactory

QUEUE = reverse("letters:queue")
COLLECT = reverse("letters:collect")
RELEASE = reverse("letters:release")
SPECIMEN = reverse("letters:specimen")


@pytest.fixture
def print_shop(staff_user, verified_client):
    return verified_client(staff_user("collect_letters", username="druckerei"))


def unzip(response) -> tuple[str, dict[str, bytes]]:
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        return response["Content-Disposition"], {name: bundle.read(name) for name in bundle.namelist()}


def test_print_shop_sees_the_letters_ready(print_shop, request_letter):
    letter = request_letter(MemberFactory())
    response = print_shop.get(QUEUE)
    assert response.status_code == 200
    assert letter.reference in response.content.decode()
    assert letter.member.last_name not in response.content.decode()


def test_collecting_downloads_one_pdf_and_its_manifest(print_shop, request_letter):
    letters = [request_letter(MemberFactory()) for _ in range(2)]
    response = print_shop.post(COLLECT, {"limit": "500"})
    assert response.status_code == 200
    disposition, files = unzip(response)
    assert "attachment" in disposition
    pdf_name = next(name for name in files if name.endswith(".pdf"))
    csv_name = next(name for name in files if name.endswith(".csv"))
    rows = list(csv.DictReader(io.StringIO(files[csv_name].decode())))
    assert [int(row["letter_id"]) for row in rows] == [letter.pk for letter in letters]
    assert len(PdfReader(io.BytesIO(files[pdf_name])).pages) == 2
    assert set(LetterRequest.objects.values_list("status", flat=True)) == {LetterStatus.COLLECTED}


def test_a_second_collection_gets_nothing(print_shop, request_letter):
    request_letter(MemberFactory())
    print_shop.post(COLLECT, {"limit": "500"})
    response = print_shop.post(COLLECT, {"limit": "500"})
    assert response.status_code == 302
    assert response.url == QUEUE
    assert "Zurzeit liegen keine Briefe" in print_shop.get(QUEUE).content.decode()


def test_collect_with_a_bad_count_is_refused_without_collecting(print_shop, request_letter):
    request_letter(MemberFactory())
    response = print_shop.post(COLLECT, {"limit": "abc"}, follow=True)
    assert "Anzahl zwischen 1 und 500" in response.content.decode()
    assert LetterRequest.objects.get().status == LetterStatus.RENDERED


@pytest.mark.parametrize("url", [QUEUE, COLLECT])
def test_staff_without_print_shop_rights_get_403(url, staff_user, verified_client, request_letter):
    request_letter(MemberFactory())
    client = verified_client(staff_user("cancel_letterrequest", "view_letterrequest"))
    response = client.post(url) if url == COLLECT else client.get(url)
    assert response.status_code == 403
    assert LetterRequest.objects.get().status == LetterStatus.RENDERED


def test_print_shop_without_two_factor_session_is_sent_to_the_second_factor(client, staff_user, request_letter):
    request_letter(MemberFactory())
    client.force_login(staff_user("collect_letters"))
    for response in (client.get(QUEUE), client.post(COLLECT, {"limit": "500"})):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    assert LetterRequest.objects.get().status == LetterStatus.RENDERED


def test_a_member_logged_in_with_a_pin_gets_no_print_shop_page(client, member, issue_pin):
    """A member's session is OTP-verified too (by the letter PIN), but is no staff session."""
    client.force_login(member.user)
    session = client.session
    session[django_otp.DEVICE_ID_SESSION_KEY] = issue_pin(member).pin.persistent_id
    session.save()
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_anonymous_visitors_are_sent_to_the_staff_login(client):
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_release_needs_the_release_right(print_shop, request_letter):
    letter = request_letter(MemberFactory())
    print_shop.post(COLLECT, {"limit": "500"})
    assert print_shop.post(RELEASE, {"letter": letter.reference}).status_code == 403
    assert LetterRequest.objects.get(pk=letter.pk).status == LetterStatus.COLLECTED


def test_release_puts_the_letter_back_in_the_queue(staff_user, verified_client, request_letter):
    letter = request_letter(MemberFactory())
    client = verified_client(staff_user("collect_letters", "release_letters"))
    client.post(COLLECT, {"limit": "500"})
    response = client.post(RELEASE, {"letter": letter.reference}, follow=True)
    assert "wieder in der Druckwarteschlange" in response.content.decode()
    assert LetterRequest.objects.get(pk=letter.pk).status == LetterStatus.RENDERED


def test_release_of_an_unknown_reference_says_so(staff_user, verified_client):
    client = verified_client(staff_user("collect_letters", "release_letters"))
    response = client.post(RELEASE, {"letter": "B-99999999"}, follow=True)
    assert "gibt es nicht" in response.content.decode()


def test_specimen_shows_the_letter_with_a_dummy_pin_and_touches_no_pin(staff_user, verified_client, member):
    client = verified_client(staff_user("view_letterrequest"))
    response = client.get(SPECIMEN, {"sprache": "en"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert SPECIMEN_PIN in text
    assert not LetterPin.objects.exists()
    assert not LetterRequest.objects.exists()


def test_specimen_needs_a_staff_right(staff_user, verified_client):
    client = verified_client(staff_user())
    assert client.get(SPECIMEN).status_code == 403
