"""Tests for core/http.py: the staff-page guard, the streamed download and the inline PDF every room shares."""

from urllib.parse import unquote

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from core.http import attachment_response, pdf_inline_response, staff_view
from tests.factories import UserFactory


@staff_view("letters.collect_letters")
def _page(request):
    return HttpResponse("the page")


def _request(user):
    request = RequestFactory().get("/druckerei/")
    request.user = user
    return request


def test_anonymous_visitors_are_sent_to_the_staff_login():
    response = _page(_request(AnonymousUser()))
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


@pytest.mark.django_db
def test_staff_without_the_second_factor_are_sent_to_the_staff_login():
    user = UserFactory(is_staff=True, is_superuser=True)
    user.is_verified = lambda: False
    response = _page(_request(user))
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


@pytest.mark.django_db
def test_verified_staff_without_the_permission_get_403_and_with_it_the_page():
    user = UserFactory(is_staff=True)
    user.is_verified = lambda: True
    with pytest.raises(PermissionDenied):
        _page(_request(user))
    superuser = UserFactory(is_staff=True, is_superuser=True)
    superuser.is_verified = lambda: True
    assert _page(_request(superuser)).content == b"the page"


def test_a_download_is_a_private_attachment_with_an_rfc6266_name():
    response = attachment_response(iter([b"ab", b"c"]), name="Ärztlicher Befund.pdf", mime_type="", size=3)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "Ärztlicher Befund.pdf" in unquote(disposition)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Length"] == "3"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"abc"


def test_an_inline_pdf_is_private_too():
    response = pdf_inline_response(b"%PDF-1.7", name="vorschau-K-1.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert 'filename="vorschau-K-1.pdf"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == b"%PDF-1.7"
