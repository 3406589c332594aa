"""What staff read: German names in admin, one history button, texts true to the PIN state, no raw field keys,
the print shop and the case workers inside the staff layout, and no "no permission" sidebar for case workers."""

import pytest
from django.urls import reverse

from letters.constants import LetterStatus
from staff.constants import Role
from tests.letters.factories import LetterRequestFactory
from tests.uploads.factories import pdf_bytes

from .factories import make_staff, transmitted_submission, verified_client

pytestmark = pytest.mark.django_db


def html(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_admin_names_are_german_and_the_staff_second_factor_is_not_a_pin():
    page = html(verified_client(make_staff(Role.ADMINISTRATOR)), reverse("admin:index"))
    for german in ("Mitglieder", "Protokoll", "PINs der Mitglieder", "Authenticator-Apps der Mitarbeiter"):
        assert german in page
    for raw in ("OTP_TOTP", ">Members<", ">Audit<", "TOTP devices", "Einmalpasswort"):
        assert raw not in page


def test_member_page_has_one_history_button_and_writes_egk_with_a_small_e(member):
    page = html(verified_client(make_staff(Role.CALL_CENTRE)), reverse("admin:members_member_change", args=[member.pk]))
    assert page.count(reverse("admin:members_member_story", args=[member.pk])) == 1
    assert reverse("admin:members_member_history", args=[member.pk]) not in page
    assert "Gesundheitskarte (eGK) gültig bis" in page
    assert "EGK" not in page


def test_after_transmission_the_new_pin_page_does_not_promise_the_old_pins(member, issue_pin):
    issue_pin(member)
    client = verified_client(make_staff(Role.CALL_CENTRE))
    url = reverse("admin:members_member_reissue", args=[member.pk])
    assert "bleibt gültig" in html(client, url)
    transmitted_submission(member)
    page = html(client, url)
    assert "bleiben gültig" not in page and "bleibt gültig" not in page
    assert "keine gültige PIN" in page


def test_a_letter_whose_pin_ended_is_neither_ready_to_print_nor_cancellable(member, issue_pin):
    letter = LetterRequestFactory(member=member, status=LetterStatus.RENDERED, pin=issue_pin(member).pin)
    client = verified_client(make_staff(Role.CALL_CENTRE))
    cancel = reverse("admin:members_member_letter_cancel", args=[member.pk, letter.pk])
    page = html(client, reverse("admin:members_member_change", args=[member.pk]))
    assert cancel in page and "druckbereit" in page
    transmitted_submission(member)
    page = html(client, reverse("admin:members_member_change", args=[member.pk]))
    assert cancel not in page
    assert "druckbereit" not in page
    assert "PIN nicht mehr gültig" in page


def test_submission_detail_shows_field_labels_not_keys(member):
    submission = transmitted_submission(member, files={"a.pdf": pdf_bytes()})
    assert submission.contact_changes
    page = html(verified_client(make_staff(Role.CASE_WORKER)), reverse("staff:submission", args=[submission.reference]))
    for key in submission.contact_changes:
        assert f">{key}<" not in page
    assert ">Ort<" in page or ">Neue Telefonnummer<" in page


def test_case_worker_sidebar_offers_the_inbox_instead_of_no_permission():
    client = verified_client(make_staff(Role.CASE_WORKER))
    page = html(client, reverse("staff:inbox"))
    assert "keine Berechtigung" not in page
    assert 'id="nav-sidebar"' in page and reverse("staff:inbox") in page


def test_print_shop_wears_the_staff_layout():
    staff = make_staff(Role.PRINT_SHOP)
    page = html(verified_client(staff), reverse("letters:queue"))
    assert staff.user.username in page  # the admin's user tools: who is signed in
    assert 'id="logout-form"' in page
    assert 'class="breadcrumbs"' in page
    assert "site-footer" not in page and "language-switch" not in page  # no member header or footer
