"""Tests of uploads.selectors: the member's draft and the case workers' submission list."""

import datetime

import pytest
from django.utils import timezone

from tests.factories import MemberFactory
from uploads import selectors
from uploads.models import SubmissionReason

from .factories import DraftFactory, SubmissionFactory, UploadFactory

pytestmark = pytest.mark.django_db


def test_draft_for_member_returns_only_that_members_draft(member):
    DraftFactory()
    assert selectors.draft_for_member(member=member) is None
    draft = DraftFactory(member=member)
    assert selectors.draft_for_member(member=member) == draft


def test_upload_for_member_hides_other_members_uploads(member):
    upload = UploadFactory()
    assert selectors.upload_for_member(member=member, public_id=upload.public_id) is None
    assert selectors.upload_for_member(member=upload.draft.member, public_id=upload.public_id) == upload


def test_submission_list_filters_by_reason_code_and_status():
    form = SubmissionReason.objects.get(code="form")
    wanted = SubmissionFactory(reason=form, status="in_progress")
    SubmissionFactory(status="in_progress")
    SubmissionFactory(reason=form)
    assert list(selectors.submission_list(reason="form", status="in_progress")) == [wanted]


def test_submission_list_filters_by_transmission_dates_inclusive():
    now = timezone.now()
    old = SubmissionFactory(transmitted_at=now - datetime.timedelta(days=10))
    recent = SubmissionFactory(transmitted_at=now)
    today = timezone.localdate(now)
    assert list(selectors.submission_list(date_from=today, date_to=today)) == [recent]
    assert list(selectors.submission_list(date_to=today - datetime.timedelta(days=5))) == [old]


def test_submission_list_finds_by_reference_ignoring_case_and_spaces():
    wanted = SubmissionFactory(reference="EP-7K4M-Q2XH")
    SubmissionFactory()
    assert list(selectors.submission_list(search=" ep-7k4m-q2xh ")) == [wanted]


def test_submission_list_finds_by_kvnr():
    member = MemberFactory()
    wanted = SubmissionFactory(member=member)
    SubmissionFactory()
    assert list(selectors.submission_list(search=member.kvnr.lower())) == [wanted]


def test_submission_get_by_reference_or_none():
    wanted = SubmissionFactory(reference="EP-AAAA-BBBB")
    assert selectors.submission_get(reference="ep-aaaa-bbbb") == wanted
    assert selectors.submission_get(reference="EP-ZZZZ-ZZZZ") is None


def test_reason_list_offers_active_reasons_and_with_inactive_every_reason():
    retired = SubmissionReason.objects.create(code="retired", label_de="Alt", label_en="Old", active=False)
    assert retired not in selectors.reason_list()
    assert set(selectors.reason_list(with_inactive=True)) == set(SubmissionReason.objects.all())
