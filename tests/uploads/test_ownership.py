"""Ownership: a member can never read, resume or delete another member's draft, upload or receipt."""

import io

import pytest
from django.urls import reverse

from audit.services import Actor
from tests.factories import MemberFactory
from tests.helpers import login_member
from uploads import services
from uploads.models import Draft, Submission, SubmissionReason, Upload
from uploads.views import RECEIPT_COOKIE

from .factories import pdf_bytes

pytestmark = pytest.mark.django_db

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


@pytest.fixture
def owner_draft(member):
    draft = services.draft_get_or_create(member=member)
    return services.draft_autosave(
        draft=draft,
        version=draft.version,
        fields={"message": "Geheime Nachricht", "reason": SubmissionReason.objects.get(code="form")},
        actor=Actor.member(member.user),
    )


@pytest.fixture
def complete_upload(owner_draft, member):
    data = pdf_bytes()
    return services.upload_store(
        draft=owner_draft, name="Befund.pdf", fileobj=io.BytesIO(data), size=len(data), actor=Actor.member(member.user)
    )


@pytest.fixture
def partial_upload(owner_draft, member):
    upload = services.upload_create(
        draft=owner_draft, name="Halb.pdf", length=20_000, fingerprint="fp-owner", actor=Actor.member(member.user)
    )
    data = pdf_bytes(padding=20_000)[:8000]
    return services.upload_append(
        upload=upload, offset=0, stream=io.BytesIO(data), content_length=len(data), actor=Actor.member(member.user)
    )


def test_other_member_draft_page_does_not_show_the_owners_draft(other_client, owner_draft):
    page = other_client.get(reverse("uploads:draft")).content.decode()
    assert "Geheime Nachricht" not in page


def test_other_member_review_page_does_not_show_the_owners_draft(other_client, owner_draft):
    assert "Geheime Nachricht" not in other_client.get(reverse("uploads:review")).content.decode()


def test_other_member_autosave_does_not_touch_the_owners_draft(other_client, owner_draft):
    other_client.get(reverse("uploads:draft"))
    other_client.post(reverse("uploads:autosave"), {"version": owner_draft.version, "message": "überschrieben"})
    assert Draft.objects.get(pk=owner_draft.pk).message == "Geheime Nachricht"


def test_other_member_file_list_does_not_show_the_owners_files(other_client, complete_upload):
    assert "Befund.pdf" not in other_client.get(reverse("uploads:file_list")).content.decode()


def test_other_member_cannot_download_the_owners_file(other_client, complete_upload):
    response = other_client.get(reverse("uploads:file_download", args=[complete_upload.public_id]))
    assert response.status_code == 404


def test_other_member_cannot_delete_the_owners_file(other_client, complete_upload):
    response = other_client.post(reverse("uploads:file_delete", args=[complete_upload.public_id]))
    assert response.status_code == 404
    assert Upload.objects.filter(pk=complete_upload.pk).exists()


def test_other_member_cannot_see_the_offset_of_the_owners_upload(other_client, partial_upload):
    response = other_client.head(reverse("uploads:tus_upload", args=[partial_upload.public_id]), **TUS)
    assert response.status_code == 404
    assert "Upload-Offset" not in response


def test_other_member_cannot_resume_the_owners_upload(other_client, partial_upload):
    response = other_client.generic(
        "PATCH",
        reverse("uploads:tus_upload", args=[partial_upload.public_id]),
        b"x" * 100,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(partial_upload.offset),
        **TUS,
    )
    assert response.status_code == 404
    assert Upload.objects.get(pk=partial_upload.pk).offset == partial_upload.offset


def test_other_member_cannot_terminate_the_owners_upload(other_client, partial_upload):
    response = other_client.delete(reverse("uploads:tus_upload", args=[partial_upload.public_id]), **TUS)
    assert response.status_code == 404
    assert Upload.objects.filter(pk=partial_upload.pk).exists()


def test_other_member_transmit_does_not_transmit_the_owners_draft(other_client, complete_upload, owner_draft):
    other_client.post(reverse("uploads:transmit"), {"confirm": "on"})
    assert Draft.objects.filter(pk=owner_draft.pk).exists()
    assert not Submission.objects.filter(member=owner_draft.member).exists()


def test_other_member_plain_upload_goes_to_their_own_draft(other_client, other_member, owner_draft):
    other_client.post(reverse("uploads:file_upload"), {"file": io.BytesIO(pdf_bytes())}, format="multipart")
    assert not owner_draft.uploads.exists()
    assert Upload.objects.get().draft.member == other_member


def test_other_member_cannot_fetch_the_owners_receipt(member_client, other_client, complete_upload):
    member_client.post(reverse("uploads:transmit"), {"confirm": "on"})
    assert other_client.get(reverse("uploads:receipt")).status_code == 404
    assert other_client.get(reverse("uploads:done")).status_code == 410


def test_receipt_cookie_naming_a_submission_without_signature_is_refused(other_client, member_client, complete_upload):
    member_client.post(reverse("uploads:transmit"), {"confirm": "on"})
    other_client.cookies[RECEIPT_COOKIE] = str(Submission.objects.get().pk)
    assert other_client.get(reverse("uploads:receipt")).status_code == 404


def test_next_member_session_on_the_same_browser_drops_the_previous_receipt(member_client, complete_upload, issue_pin):
    member_client.post(reverse("uploads:transmit"), {"confirm": "on"})
    login_member(member_client, issue_pin(MemberFactory()).pin)
    member_client.get(reverse("uploads:draft"))
    assert member_client.get(reverse("uploads:receipt")).status_code == 404
