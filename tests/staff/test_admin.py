"""The call centre's member page and its actions (staff/admin.py)."""

import datetime
from contextlib import contextmanager

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.constants import AuditAction
from audit.models import AuditEvent
from letters.constants import LetterStatus
from letters.models import LetterRequest
from letters.selectors import print_queue
from letters.services import letter_requeue_stale
from pins.constants import PinStatus
from pins.models import LetterPin
from pins.services import pin_verify
from portal.celery import app as celery_app
from staff.constants import ReissuePurpose, Role
from tests.letters.factories import LetterRequestFactory
from tests.uploads.factories import pdf_bytes

from .factories import transmitted_submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(staff_client):
    return staff_client(Role.CALL_CENTRE)


def _page(member):
    return reverse("admin:members_member_change", args=[member.pk])


def _reissue(member):
    return reverse("admin:members_member_reissue", args=[member.pk])


def test_member_page_shows_each_pin_with_status_and_failed_attempts(agent, member, issue_pin):
    issue_pin(member)
    locked = issue_pin(member).pin
    LetterPin.objects.filter(pk=locked.pk).update(status=PinStatus.LOCKED, failed_attempts=5)
    html = agent.get(_page(member)).content.decode()
    assert "aktiv bis" in html
    assert "gesperrt nach 5 Fehleingaben" in html
    assert "<td>5</td>" in html


def test_member_page_never_shows_the_pin_its_hash_or_selector(agent, member, issue_pin):
    issued = issue_pin(member)
    html = agent.get(_page(member)).content.decode()
    assert issued.plaintext not in html
    assert issued.display not in html
    assert issued.pin.pin_hash not in html
    assert issued.pin.selector + "…" not in html


def test_member_page_shows_letters_with_print_status(agent, member):
    LetterRequestFactory(member=member, status=LetterStatus.COLLECTED)
    html = agent.get(_page(member)).content.decode()
    assert "von der Druckerei abgeholt" in html


def test_member_page_says_whether_a_submission_was_transmitted(agent, member):
    submission = transmitted_submission(member, files={"a.pdf": pdf_bytes()})
    html = agent.get(_page(member)).content.decode()
    assert submission.reference in html


def test_reissue_page_shows_the_postal_address(agent, member):
    html = agent.get(_reissue(member)).content.decode()
    for line in member.address_lines:
        assert line in html


def test_reissue_creates_one_letter_whose_new_pin_lands_in_the_print_queue(
    agent, member, issue_pin, django_capture_on_commit_callbacks
):
    old = issue_pin(member).pin
    with django_capture_on_commit_callbacks(execute=True):
        response = agent.post(_reissue(member), {"purpose": ReissuePurpose.LOST})
    assert response.status_code == 302
    letter = LetterRequest.objects.get(member=member)
    assert letter.status == LetterStatus.RENDERED
    assert list(print_queue()) == [letter]
    new_pins = LetterPin.objects.filter(member=member).exclude(pk=old.pk)
    assert [pin.status for pin in new_pins] == [PinStatus.ACTIVE]
    assert letter.pin == new_pins.get()


def test_reissue_keeps_the_other_pins_valid(agent, member, issue_pin, django_capture_on_commit_callbacks):
    old = issue_pin(member)
    with django_capture_on_commit_callbacks(execute=True):
        agent.post(_reissue(member), {"purpose": ReissuePurpose.LOST})
    assert pin_verify(kvnr=member.kvnr, pin=old.plaintext, ip=None).ok


def test_reissue_is_audited_with_the_agent(agent, member):
    agent.post(_reissue(member), {"purpose": ReissuePurpose.NOT_RECEIVED})
    event = AuditEvent.objects.get(action=AuditAction.PIN_REISSUED)
    assert (event.member, event.actor_user.groups.get().name) == (member, Role.CALL_CENTRE)
    assert event.reason == "Brief nicht angekommen"
    assert AuditEvent.objects.filter(action=AuditAction.LETTER_REQUESTED, member=member).count() == 1


def test_reissue_beyond_the_daily_limit_is_refused_with_a_message(agent, member, settings):
    settings.STAFF_REISSUE_LIMIT_PER_DAY = 1
    agent.post(_reissue(member), {"purpose": ReissuePurpose.LOST})
    response = agent.post(_reissue(member), {"purpose": ReissuePurpose.LOST}, follow=True)
    assert LetterRequest.objects.filter(member=member).count() == 1
    assert "heute schon 1 neue PINs angefordert" in response.content.decode()


def test_reissue_with_an_unknown_purpose_creates_nothing(agent, member):
    response = agent.post(_reissue(member), {"purpose": "anything"})
    assert response.status_code == 200
    assert not LetterRequest.objects.exists()


def test_address_correction_changes_the_address_and_audits_old_and_new(agent, member):
    url = reverse("admin:members_member_address", args=[member.pk])
    data = {"address_line": "", "street": "Neue Straße 1", "postcode": "50667", "town": "Köln"}
    response = agent.post(url, data)
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.street, member.postcode) == ("Neue Straße 1", "50667")
    event = AuditEvent.objects.get(action=AuditAction.MEMBER_ADDRESS_CHANGED)
    assert event.data["changed"]["street"] == ["Heidestraße 17", "Neue Straße 1"]


def test_address_correction_with_a_bad_postcode_changes_nothing(agent, member):
    url = reverse("admin:members_member_address", args=[member.pk])
    response = agent.post(url, {"street": "Neue Straße 1", "postcode": "5066", "town": "Köln"})
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.street == "Heidestraße 17"
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_ADDRESS_CHANGED).exists()


def test_cancel_a_letter_not_yet_collected(agent, member, issue_pin):
    pin = issue_pin(member).pin
    letter = LetterRequestFactory(member=member, status=LetterStatus.RENDERED, pin=pin)
    url = reverse("admin:members_member_letter_cancel", args=[member.pk, letter.pk])
    assert agent.get(url).status_code == 200
    agent.post(url)
    letter.refresh_from_db()
    pin.refresh_from_db()
    assert letter.status == LetterStatus.CANCELLED
    assert pin.status == PinStatus.INVALIDATED
    assert AuditEvent.objects.filter(action=AuditAction.LETTER_CANCELLED, member=member).exists()


def test_cancel_a_collected_letter_is_refused_with_a_message(agent, member):
    letter = LetterRequestFactory(member=member, status=LetterStatus.COLLECTED)
    url = reverse("admin:members_member_letter_cancel", args=[member.pk, letter.pk])
    response = agent.post(url, follow=True)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.COLLECTED
    assert "abgeholt" in response.content.decode()


def test_cancel_refuses_another_members_letter(agent, member):
    letter = LetterRequestFactory(status=LetterStatus.RENDERED)
    url = reverse("admin:members_member_letter_cancel", args=[member.pk, letter.pk])
    assert agent.post(url).status_code == 404


def test_story_lists_every_event_about_the_member_newest_first(agent, member, issue_pin):
    issue_pin(member)
    pin_verify(kvnr=member.kvnr, pin="AAAA-AAAA-AAAA", ip="10.1.2.3")
    response = agent.get(reverse("admin:members_member_story", args=[member.pk]))
    events = list(response.context["page"])
    assert [event.action for event in events] == [AuditAction.PIN_FAILURE, AuditAction.PIN_ISSUED]
    assert "10.1.2.3" in response.content.decode()


@contextmanager
def broker_unreachable():
    """Tasks go to a broker on a closed port, as when Redis is down (real kombu publishing, no worker needed)."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.broker_write_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_write_url = previous
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def test_reissue_with_the_broker_down_succeeds_and_the_beat_renders_the_letter_later(
    agent, member, django_capture_on_commit_callbacks, caplog
):
    with broker_unreachable(), django_capture_on_commit_callbacks(execute=True):
        response = agent.post(_reissue(member), {"purpose": ReissuePurpose.LOST})
    assert response.status_code == 302
    letter = LetterRequest.objects.get(member=member)
    assert letter.status == LetterStatus.REQUESTED
    assert "not enqueued" in caplog.text

    with django_capture_on_commit_callbacks(execute=True):
        assert letter_requeue_stale(now=timezone.now() + datetime.timedelta(minutes=10)) == 1
    letter.refresh_from_db()
    assert letter.status == LetterStatus.RENDERED
    assert LetterPin.objects.filter(member=member).count() == 1
