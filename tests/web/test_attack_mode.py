"""Attack mode (web/attack.py, issue 13.1): above the global budget every login pays a proof of work first."""

import base64
import itertools
import json
import logging
import time

import altcha
import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from audit.constants import AuditAction
from audit.models import AuditEvent
from tests.factories import make_kvnr
from web.attack import attack_level, attack_note_global_count, challenge_cost

from .conftest import login_post

pytestmark = pytest.mark.django_db

CHALLENGE = reverse("web:login_challenge")


@pytest.fixture(autouse=True)
def _small_budget(settings):
    cache.clear()
    settings.LOGIN_THROTTLE_GLOBAL_LIMIT = 10
    settings.LOGIN_THROTTLE_IP_LIMIT = 1000
    settings.LOGIN_ATTACK_CHALLENGE_COST = 1
    settings.LOGIN_ATTACK_NOJS_WAIT_SECONDS = 3
    yield
    cache.clear()


def _attack(client, guesses: int = 10) -> None:
    for n in range(guesses):
        login_post(client, kvnr=make_kvnr(90_000_000 + n), pin="ABCD-EFGH-JKLM", REMOTE_ADDR=f"127.0.1.{n + 1}")


def _solved(client) -> str:
    answer = client.get(CHALLENGE).json()
    assert answer["required"]
    challenge = altcha.Challenge.from_dict(answer["challenge"])
    solution = altcha.solve_challenge(challenge)
    payload = {"challenge": answer["challenge"], "solution": solution.to_dict()}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_a_member_is_never_refused_under_attack_and_gets_in_with_a_solved_challenge(client, member, issue_pin):
    # Before: past the global budget every member got a 429 for ten minutes, the right PIN included.
    issued = issue_pin(member)
    _attack(client)
    assert attack_level() >= 1
    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, altcha=_solved(client))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:dashboard")


def test_without_a_solution_the_pin_is_not_evaluated_and_the_member_is_asked_to_wait(client, member, issue_pin):
    issued = issue_pin(member)
    _attack(client)
    before = AuditEvent.objects.filter(action=AuditAction.PIN_SUCCESS).count()
    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)
    assert response.status_code == 200
    assert "Sicherheitsprüfung" in response.content.decode()
    assert response.context["security_check"].wait_seconds >= 3
    assert AuditEvent.objects.filter(action=AuditAction.PIN_SUCCESS).count() == before


def test_without_javascript_the_member_gets_in_after_the_short_wait(client, member, issue_pin):
    issued = issue_pin(member)
    _attack(client)
    ticket = login_post(client, kvnr=member.kvnr, pin=issued.plaintext).context["security_check"].ticket
    early = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, wartemarke=ticket)
    assert early.status_code == 200 and early.context["security_check"].reason == "early"
    with time_machine.travel(time.time() + 5, tick=False):
        response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, wartemarke=ticket)
    assert response.status_code == 302


def test_a_ticket_is_good_for_one_attempt(client, member, issue_pin):
    _attack(client)
    ticket = login_post(client, kvnr=make_kvnr(91_000_000), pin="ABCD-EFGH-JKLM").context["security_check"].ticket
    with time_machine.travel(time.time() + 5, tick=False):
        first = login_post(client, kvnr=make_kvnr(91_000_001), pin="ABCD-EFGH-JKLM", wartemarke=ticket)
        second = login_post(client, kvnr=make_kvnr(91_000_002), pin="ABCD-EFGH-JKLM", wartemarke=ticket)
    assert "security_check" not in first.context and first.context["failed"]
    assert second.context["security_check"].reason == "used"


def test_a_challenge_is_good_for_one_attempt(client):
    _attack(client)
    payload = _solved(client)
    first = login_post(client, kvnr=make_kvnr(92_000_000), pin="ABCD-EFGH-JKLM", altcha=payload)
    second = login_post(client, kvnr=make_kvnr(92_000_001), pin="ABCD-EFGH-JKLM", altcha=payload)
    assert first.context["failed"]
    assert second.context["security_check"].reason == "used"


def test_an_expired_challenge_is_refused(client, settings):
    _attack(client)
    payload = _solved(client)
    with time_machine.travel(time.time() + settings.LOGIN_ATTACK_CHALLENGE_SECONDS + 5, tick=False):
        response = login_post(client, kvnr=make_kvnr(93_000_000), pin="ABCD-EFGH-JKLM", altcha=payload)
    assert response.context["security_check"].reason == "expired"


def test_a_forged_solution_is_refused(client):
    _attack(client)
    answer = client.get(CHALLENGE).json()
    payload = {"challenge": answer["challenge"], "solution": {"counter": 0, "derivedKey": "00" * 32}}
    forged = base64.b64encode(json.dumps(payload).encode()).decode()
    response = login_post(client, kvnr=make_kvnr(94_000_000), pin="ABCD-EFGH-JKLM", altcha=forged)
    assert response.context["security_check"].reason == "invalid"


def test_no_challenge_is_asked_outside_attack_mode(client, member, issue_pin):
    assert client.get(CHALLENGE).json() == {"required": False}
    issued = issue_pin(member)
    assert login_post(client, kvnr=member.kvnr, pin=issued.plaintext).status_code == 302


def test_the_cost_rises_with_the_guess_rate(settings):
    attack_note_global_count(count=10)
    assert attack_level() == 1
    attack_note_global_count(count=40)
    assert attack_level() == 3
    assert challenge_cost(3) == 4 * challenge_cost(1)


def test_start_and_end_are_logged_as_events(caplog, settings, time_machine):
    time_machine.move_to("2030-01-01 12:00", tick=False)
    with caplog.at_level(logging.WARNING, logger="web.attack"):
        attack_note_global_count(count=10)
        attack_note_global_count(count=11)
        time_machine.shift(settings.LOGIN_THROTTLE_GLOBAL_WINDOW_SECONDS + 1)
        cache.delete("web:attack-mode:state")  # the cache's own expiry does not follow the moved clock
        assert attack_level() == 0
    events = [getattr(record, "event", "") for record in caplog.records]
    assert events == ["login.attack_mode.started", "login.attack_mode.ended"]


def test_staff_login_pays_the_same_proof_of_work_under_attack(client):
    from staff.constants import Role
    from tests.staff.factories import STAFF_PASSWORD, make_staff, totp_code

    staff = make_staff(Role.CALL_CENTRE)
    _attack(client)
    data = {"username": staff.user.username, "password": STAFF_PASSWORD, "otp_token": totp_code(staff.device)}
    refused = client.post(reverse("admin:login"), data)
    assert refused.status_code == 200
    assert "Sicherheitsprüfung" in refused.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302
    response = client.post(reverse("admin:login"), {**data, "altcha": _solved(client)})
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_start_line_keeps_its_severity_and_states_the_level_apart(caplog):
    # Before: the event's "level" extra replaced the line's severity ("level": 1 instead of "WARNING").
    from core.logs import JsonFormatter

    with caplog.at_level(logging.WARNING, logger="web.attack"):
        attack_note_global_count(count=10)
    (record,) = [record for record in caplog.records if getattr(record, "event", "") == "login.attack_mode.started"]
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["attack_level"], line["event"]) == ("WARNING", 1, "login.attack_mode.started")


# The ticket lane (no JavaScript): limited per address and for everyone, waits bounded, tickets bound to their address

LOGIN = reverse("web:login")
WRONG = {"pin": "ABCD-EFGH-JKLM"}


def _ask(client, n: int, address: str):
    return client.post(LOGIN, {"kvnr": make_kvnr(95_000_000 + n), **WRONG}, REMOTE_ADDR=address).context[
        "security_check"
    ]


def test_one_address_asking_sixty_tickets_gets_only_its_share(client, settings):
    # Before: one address got 60 tickets in 0.6 s and had 60 guesses evaluated in one minute (the lane allows 30).
    _attack(client)
    checks = [_ask(client, n, "203.0.113.7") for n in range(60)]
    tickets = [check.ticket for check in checks if check.ticket]
    assert len(tickets) == settings.LOGIN_ATTACK_TICKETS_PER_ADDRESS
    assert {check.reason for check in checks if not check.ticket} == {"full"}
    before = AuditEvent.objects.filter(action=AuditAction.PIN_FAILURE).count()
    with time_machine.travel(time.time() + 59, tick=False):
        for n, ticket in enumerate(tickets):
            client.post(
                LOGIN, {"kvnr": make_kvnr(96_000_000 + n), **WRONG, "wartemarke": ticket}, REMOTE_ADDR="203.0.113.7"
            )
    evaluated = AuditEvent.objects.filter(action=AuditAction.PIN_FAILURE).count() - before
    assert evaluated == len(tickets) <= 30


def test_the_lane_hands_out_no_more_tickets_than_its_rate_and_never_a_wait_past_the_bound(client, settings):
    # Before: 4,310 farmed tickets made a member wait 8,607 s, past the ticket's own maximum age.
    _attack(client)
    checks = [_ask(client, n, f"198.51.{n // 250}.{n % 250 + 1}") for n in range(80)]
    waits = sorted(check.wait_seconds for check in checks if check.ticket)
    bound = settings.LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS
    assert len(waits) <= bound * settings.LOGIN_ATTACK_TICKETS_PER_SECOND + 1
    assert max(waits) <= bound
    # Each ticket has a slot of its own in the one lane: they become good 1 / rate seconds apart.
    starts = sorted(signing.loads(check.ticket, salt="web.attack.ticket")["nb"] for check in checks if check.ticket)
    gap = 1 / settings.LOGIN_ATTACK_TICKETS_PER_SECOND
    assert all(later - earlier >= gap - 1e-6 for earlier, later in itertools.pairwise(starts))
    member_check = _ask(client, 999, "192.0.2.55")
    assert (member_check.reason, member_check.ticket) == ("full", "")
    assert member_check.wait_seconds <= bound
    page = client.post(LOGIN, {"kvnr": make_kvnr(97_000_000), **WRONG}, REMOTE_ADDR="192.0.2.56").content.decode()
    assert "alle Plätze vergeben" in page


def test_a_member_without_javascript_gets_a_ticket_within_the_bound_once_the_lane_has_room(
    client, settings, member, issue_pin
):
    _attack(client)
    for n in range(80):
        _ask(client, n, f"198.51.{n // 250}.{n % 250 + 1}")
    issued = issue_pin(member)
    with time_machine.travel(time.time() + settings.LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS, tick=False):
        address = {"REMOTE_ADDR": "192.0.2.80"}
        check = client.post(LOGIN, {"kvnr": member.kvnr, "pin": issued.plaintext}, **address).context["security_check"]
        assert check.ticket and check.wait_seconds <= settings.LOGIN_ATTACK_TICKET_MAX_WAIT_SECONDS
        with time_machine.travel(time.time() + check.wait_seconds, tick=False):
            response = client.post(
                LOGIN, {"kvnr": member.kvnr, "pin": issued.plaintext, "wartemarke": check.ticket}, **address
            )
    assert response.status_code == 302


def test_a_ticket_is_good_only_from_the_address_it_was_handed_to(client):
    _attack(client)
    ticket = _ask(client, 1, "203.0.113.8").ticket
    with time_machine.travel(time.time() + 5, tick=False):
        check = client.post(
            LOGIN, {"kvnr": make_kvnr(98_000_000), **WRONG, "wartemarke": ticket}, REMOTE_ADDR="203.0.113.9"
        ).context["security_check"]
    assert check.reason == "invalid"


def test_a_ticket_left_past_its_validity_is_refused(client, settings):
    _attack(client)
    check = _ask(client, 2, "203.0.113.10")
    late = check.wait_seconds + settings.LOGIN_ATTACK_TICKET_VALID_SECONDS + 2
    with time_machine.travel(time.time() + late, tick=False):
        response = client.post(
            LOGIN, {"kvnr": make_kvnr(98_000_001), **WRONG, "wartemarke": check.ticket}, REMOTE_ADDR="203.0.113.10"
        )
    assert response.context["security_check"].reason == "expired"


def test_a_solution_of_a_lower_level_is_refused_after_the_level_rose(client, member, issue_pin):
    # Before: a challenge solved at level 1 stayed good for 300 s after the level had risen.
    issued = issue_pin(member)
    _attack(client)
    assert attack_level() == 1
    cheap = _solved(client)
    attack_note_global_count(count=40)
    assert attack_level() == 3
    before = AuditEvent.objects.filter(action=AuditAction.PIN_SUCCESS).count()
    refused = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, altcha=cheap)
    assert refused.context["security_check"].reason == "level"
    assert AuditEvent.objects.filter(action=AuditAction.PIN_SUCCESS).count() == before
    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, altcha=_solved(client))
    assert response.status_code == 302
