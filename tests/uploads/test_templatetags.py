"""Tests of the draft panel the member dashboard shows."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from uploads.models import SubmissionReason

from .factories import DraftFactory, UploadFactory

pytestmark = pytest.mark.django_db


def render_panel(member) -> str:
    request = RequestFactory().get("/")
    request.member = member
    return Template("{% load uploads_tags %}{% draft_panel %}").render(Context({"request": request}))


def test_panel_without_draft_offers_to_start(member):
    assert "Antrag beginnen" in render_panel(member)


def test_panel_with_draft_shows_reason_file_count_and_link_to_continue(member):
    draft = DraftFactory(member=member, reason=SubmissionReason.objects.get(code="income"))
    UploadFactory(draft=draft)
    UploadFactory(draft=draft)
    html = render_panel(member)
    assert "Einkommensnachweis" in html
    assert "<dd>2</dd>" in html
    assert "Antrag fortsetzen" in html and 'href="/antrag/"' in html


def test_panel_is_empty_without_a_member():
    request = RequestFactory().get("/")
    assert Template("{% load uploads_tags %}{% draft_panel %}").render(Context({"request": request})) == ""


def test_panel_does_not_call_an_empty_draft_begun(member):
    """Opening /antrag/ creates a draft; with nothing entered the dashboard still offers to start, not to continue."""
    DraftFactory(member=member)
    html = render_panel(member)
    assert "begonnenen Antrag" not in html
    assert "Antrag beginnen" in html


def test_panel_with_only_a_message_is_a_begun_draft(member):
    DraftFactory(member=member, message="Hallo")
    assert "Antrag fortsetzen" in render_panel(member)
