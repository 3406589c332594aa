"""A PIN works through the whole day its letter states, in Europe/Berlin (issue 16), and every page says that day."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import formats

from pins.constants import PinStatus, VerifyResult
from pins.models import LetterPin
from pins.services import pin_expire_due, pin_verify
from staff.selectors import pin_state
from tests.web.conftest import login_post

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=BERLIN)


# Issued in the afternoon in winter time; the 60th day (11 April 2027) is in summer time (change on 28 March).
CASES = [
    pytest.param(at(2027, 2, 10, 14, 47), datetime.date(2027, 4, 11), id="across-the-spring-change"),
    pytest.param(at(2026, 12, 2, 2, 47), datetime.date(2027, 1, 31), id="issued-early-in-the-morning"),
    pytest.param(at(2026, 9, 1, 23, 30), datetime.date(2026, 10, 31), id="across-the-autumn-change"),
]


@pytest.mark.parametrize(("issued_at", "last_day"), CASES)
def test_the_pin_works_until_23_59_59_of_the_stated_day(member, issue_pin, issued_at, last_day):
    issued = issue_pin(member, now=issued_at)
    assert issued.pin.expires_at.astimezone(BERLIN).date() == last_day
    with time_machine.travel(datetime.datetime.combine(last_day, datetime.time(23, 59, 59), BERLIN), tick=False):
        assert pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None).ok
        assert pin_expire_due() == 0


@pytest.mark.parametrize(("issued_at", "last_day"), CASES)
def test_the_pin_has_expired_at_00_00_00_of_the_next_day(member, issue_pin, issued_at, last_day):
    issued = issue_pin(member, now=issued_at)
    midnight = datetime.datetime.combine(last_day + datetime.timedelta(days=1), datetime.time(0, 0), BERLIN)
    with time_machine.travel(midnight, tick=False):
        outcome = pin_verify(kvnr=member.kvnr, pin=issued.plaintext, ip=None)
        assert outcome.result == VerifyResult.EXPIRED
        assert outcome.may_explain
        assert pin_expire_due() == 1
    assert LetterPin.objects.get(pk=issued.pin.pk).status == PinStatus.EXPIRED


def test_dashboard_staff_page_and_letter_value_name_the_same_day(client, member, issue_pin, settings):
    issued_at = at(2027, 2, 10, 14, 47)
    issued = issue_pin(member, now=issued_at)
    stated = formats.date_format(datetime.date(2027, 4, 11), "DATE_FORMAT")
    with time_machine.travel(at(2027, 4, 11, 18, 0), tick=False):
        login_post(client, kvnr=member.kvnr, pin=issued.plaintext)
        html = client.get(reverse("web:dashboard")).content.decode()
        assert stated in html
        label, usable = pin_state(pin=LetterPin.objects.get(pk=issued.pin.pk))
    assert usable
    assert formats.date_format(datetime.date(2027, 4, 11), "SHORT_DATE_FORMAT") in label
    # letters.services hands expires_at to the letter, which prints its date in the portal's zone.
    assert issued.pin.expires_at.astimezone(BERLIN).date() == datetime.date(2027, 4, 11)
