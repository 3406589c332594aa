"""The member pages in web/views.py: every login outcome, dashboard, logout, keep-alive, language, static pages."""

import datetime
import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

import members.kvnr
import pins.format
from audit.models import AuditEvent
from audit.services import Actor
from members.models import Member
from pins.constants import EndReason
from pins.models import LetterPin
from pins.services import pin_invalidate, pin_invalidate_all, verification
from pins.session import SESSION_PIN_KEY
from tests.factories import make_kvnr
from tests.pins.cases import wrong_secret
from web import forms

from .conftest import login_post

pytestmark = pytest.mark.django_db

GENERIC = "Die Anmeldung hat nicht geklappt"
CHECKLIST = "Wurde die PIN schon 5-mal falsch eingegeben?"
EXPLANATION_TITLES = [
    "Ihre PIN ist abgelaufen",
    "Ihre Gesundheitskarte ist nicht mehr gültig",
    "Ihre Daten wurden bereits übermittelt",
    "Diese PIN gilt nicht mehr",
]


def assert_generic_failure(response) -> None:
    text = response.content.decode()
    assert response.status_code == 200
    assert GENERIC in text
    assert CHECKLIST in text
    assert not any(title in text for title in EXPLANATION_TITLES)


def assert_explained(response, title: str) -> None:
    text = response.content.decode()
    assert response.status_code == 200
    assert title in text
    assert GENERIC not in text


# Login outcomes


def test_correct_pin_signs_in_and_redirects_to_dashboard(client, member, issue_pin):
    issued = issue_pin(member)

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert response.status_code == 302
    assert response["Location"] == reverse("web:dashboard")
    assert client.session[SESSION_PIN_KEY] == issued.pin.pk


def test_login_rotates_the_session_key(client, member, issue_pin):
    issued = issue_pin(member)
    client.get(reverse("web:login"))
    client.session.save()
    before = client.session.session_key

    login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert client.session.session_key != before


def test_kvnr_with_spaces_hyphens_and_lower_case_is_accepted(client, member, issue_pin):
    issued = issue_pin(member)
    typed = f" {member.kvnr[0].lower()} {member.kvnr[1:5]}-{member.kvnr[5:]} "

    response = login_post(client, kvnr=typed, pin=issued.display.lower())

    assert response.status_code == 302


def test_the_login_parses_kvnr_and_pin_once_and_hands_the_parsed_values_on(client, member, issue_pin, monkeypatch):
    issued = issue_pin(member)
    calls = []
    for module, name, original in [
        (forms, "kvnr_normalize", members.kvnr.kvnr_normalize),
        (forms, "pin_parse", pins.format.pin_parse),
        (verification, "kvnr_normalize", members.kvnr.kvnr_normalize),
        (verification, "pin_parse", pins.format.pin_parse),
    ]:
        where = f"{module.__name__}.{name}"
        monkeypatch.setattr(
            module, name, lambda value, where=where, original=original: calls.append(where) or original(value)
        )
    entries = []
    verify_entry = verification.pin_verify_entry
    monkeypatch.setattr(
        "web.views.pin_verify_entry", lambda *, entry, ip: entries.append(entry) or verify_entry(entry=entry, ip=ip)
    )

    typed = f" {member.kvnr[0].lower()} {member.kvnr[1:5]}-{member.kvnr[5:]} "
    response = login_post(client, kvnr=typed, pin=issued.display.lower())

    assert response.status_code == 302
    assert calls == ["web.forms.kvnr_normalize", "web.forms.pin_parse"]
    assert [(entry.kvnr, entry.pin.normalized) for entry in entries] == [(member.kvnr, issued.plaintext)]


def test_login_follows_a_local_next_url(client, member, issue_pin):
    issued = issue_pin(member)

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, next="/datenschutz/")

    assert response["Location"] == "/datenschutz/"


def test_login_ignores_a_next_url_to_another_site(client, member, issue_pin):
    issued = issue_pin(member)

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, next="https://evil.example/")

    assert response["Location"] == reverse("web:dashboard")


@pytest.mark.parametrize("next_url", ["0", "web:dashboard", "datenschutz"])
def test_a_next_that_is_no_path_leads_to_the_dashboard_not_to_a_500(client, member, issue_pin, next_url):
    """redirect() takes a bare word for a view name: '?next=0' while signed in was a 500 (found by the fuzzer)."""
    issued = issue_pin(member)
    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext, next=next_url)
    assert response["Location"] == reverse("web:dashboard")
    again = client.get(reverse("web:login"), {"next": next_url})
    assert again.status_code == 302 and again["Location"] == reverse("web:dashboard")


def test_wrong_pin_shows_the_generic_message_and_checklist(client, member, issue_pin):
    issued = issue_pin(member)

    response = login_post(client, kvnr=member.kvnr, pin=wrong_secret(issued.plaintext))

    assert_generic_failure(response)
    assert SESSION_PIN_KEY not in client.session


def test_wrong_pin_keeps_the_kvnr_but_never_the_pin_in_the_form(client, member, issue_pin):
    issued = issue_pin(member)
    wrong = wrong_secret(issued.plaintext)

    response = login_post(client, kvnr=member.kvnr, pin=wrong)

    text = response.content.decode()
    assert f'value="{member.kvnr}"' in text
    assert wrong not in text


def test_unknown_kvnr_shows_the_generic_message_and_checklist(client, db):
    response = login_post(client, kvnr=make_kvnr(99_999_999), pin="ABCD-EFGH-JKLM")

    assert_generic_failure(response)


def test_locked_pin_shows_only_the_generic_message_even_when_correct(client, member, issue_pin):
    issued = issue_pin(member)
    for _ in range(5):
        login_post(client, kvnr=member.kvnr, pin=wrong_secret(issued.plaintext))

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert_generic_failure(response)
    assert SESSION_PIN_KEY not in client.session


def test_expired_pin_that_matched_is_explained(client, member, issue_pin):
    issued = issue_pin(
        member, now=timezone.now() - datetime.timedelta(days=62)
    )  # past its last day at any hour (days count in Berlin)

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert_explained(response, "Ihre PIN ist abgelaufen")
    assert "60 Tage" in response.content.decode()


def test_invalid_health_card_is_explained_when_the_pin_matched(client, member, issue_pin):
    issued = issue_pin(member)
    Member.objects.filter(pk=member.pk).update(egk_valid_until=timezone.localdate() - datetime.timedelta(days=1))

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert_explained(response, "Ihre Gesundheitskarte ist nicht mehr gültig")


def test_pin_of_transmitted_data_is_explained_as_already_transmitted(client, member, issue_pin):
    issued = issue_pin(member)
    pin_invalidate_all(member=member, reason=EndReason.TRANSMITTED, actor=Actor.member(member.user))

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert_explained(response, "Ihre Daten wurden bereits übermittelt")


def test_revoked_pin_is_explained_as_no_longer_valid(client, member, issue_pin):
    issued = issue_pin(member)
    pin_invalidate(pin=issued.pin, reason=EndReason.CANCELLED, actor=Actor.system())

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert_explained(response, "Diese PIN gilt nicht mehr")


def test_wrong_pin_for_an_expired_pin_is_not_explained(client, member, issue_pin):
    issued = issue_pin(
        member, now=timezone.now() - datetime.timedelta(days=62)
    )  # past its last day at any hour (days count in Berlin)

    response = login_post(client, kvnr=member.kvnr, pin=wrong_secret(issued.plaintext))

    assert_generic_failure(response)


@pytest.mark.parametrize("kvnr", ["A12345678", "A1234567890", "1234567890", "A12345678X"])
def test_kvnr_of_the_wrong_form_is_a_field_error_without_a_pin_check(client, member, issue_pin, kvnr):
    issued = issue_pin(member)
    events_before = AuditEvent.objects.count()

    response = login_post(client, kvnr=kvnr, pin=issued.plaintext)

    text = response.content.decode()
    assert response.status_code == 200
    assert "Die Krankenversichertennummer hat 10 Stellen" in text
    assert 'aria-invalid="true"' in text
    assert 'href="#id_kvnr"' in text
    assert AuditEvent.objects.count() == events_before


def test_kvnr_with_a_wrong_check_digit_is_a_field_error_without_spending_an_attempt(client, member, issue_pin):
    issued = issue_pin(member)
    bad = member.kvnr[:9] + str((int(member.kvnr[9]) + 1) % 10)

    response = login_post(client, kvnr=bad, pin=wrong_secret(issued.plaintext))

    assert "Diese Krankenversichertennummer gibt es so nicht" in response.content.decode()
    assert LetterPin.objects.get(pk=issued.pin.pk).failed_attempts == 0


def test_pin_of_the_wrong_form_is_a_field_error_without_spending_an_attempt(client, member, issue_pin):
    issued = issue_pin(member)

    response = login_post(client, kvnr=member.kvnr, pin=issued.plaintext[:11])

    text = response.content.decode()
    assert "Die PIN hat 12 Zeichen" in text
    assert 'href="#id_pin"' in text
    assert LetterPin.objects.get(pk=issued.pin.pk).failed_attempts == 0


def test_empty_form_asks_for_both_fields(client, db):
    response = login_post(client, kvnr="", pin="")

    text = response.content.decode()
    assert "Bitte geben Sie Ihre Krankenversichertennummer ein." in text
    assert "Bitte geben Sie die PIN aus Ihrem Brief ein." in text


def test_login_page_of_a_signed_in_member_goes_to_the_dashboard(signed_in):
    client, _issued = signed_in

    response = client.get(reverse("web:login"))

    assert response["Location"] == reverse("web:dashboard")


def test_pin_field_is_a_password_field_without_autocomplete(client, db):
    text = client.get(reverse("web:login")).content.decode()

    pin_input = re.search(r'<input[^>]*id="id_pin"[^>]*>', text).group(0)
    assert 'type="password"' in pin_input
    assert 'autocomplete="off"' in pin_input


def test_login_page_is_never_cached(client, db):
    response = client.get(reverse("web:login"))

    assert "no-store" in response["Cache-Control"]


# Dashboard, logout, keep-alive


def test_dashboard_shows_name_expiry_and_logout_button(signed_in, member):
    client, issued = signed_in

    response = client.get(reverse("web:dashboard"))

    text = response.content.decode()
    assert response.status_code == 200
    assert member.full_name in text
    assert f'datetime="{timezone.localtime(issued.pin.expires_at).isoformat()}"' in text
    assert f'action="{reverse("web:logout")}"' in text


def test_dashboard_sends_no_store(signed_in):
    client, _issued = signed_in

    response = client.get(reverse("web:dashboard"))

    assert "no-store" in response["Cache-Control"]


def test_dashboard_without_login_redirects_to_login(client, db):
    response = client.get(reverse("web:dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_session_without_otp_verification_is_refused(client, member):
    client.force_login(member.user)

    response = client.get(reverse("web:dashboard"))

    assert response["Location"].startswith(reverse("web:login"))


def test_logout_deletes_the_server_side_session(signed_in):
    client, _issued = signed_in
    key = client.session.session_key

    response = client.post(reverse("web:logout"))

    assert response["Location"] == reverse("web:signed_out")
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_logout_refuses_get(signed_in):
    client, _issued = signed_in

    assert client.get(reverse("web:logout")).status_code == 405


def test_keepalive_reports_the_seconds_left(clock, signed_in, settings):
    client, _issued = signed_in

    response = client.post(reverse("web:keepalive"))

    assert response.json() == {"remaining": settings.MEMBER_IDLE_TIMEOUT_SECONDS, "extendable": True}


def test_keepalive_without_a_session_redirects_to_login(client, db):
    response = client.post(reverse("web:keepalive"))

    assert response.status_code == 302


def test_member_pages_carry_the_session_warning_with_its_timeout(clock, signed_in, settings):
    client, _issued = signed_in

    text = client.get(reverse("web:dashboard")).content.decode()

    assert f'data-remaining="{settings.MEMBER_IDLE_TIMEOUT_SECONDS}"' in text
    assert "js/session.js" in text


def test_public_pages_carry_no_session_warning(client, db):
    text = client.get(reverse("web:start")).content.decode()

    assert "session-dialog" not in text


def test_signed_out_page_says_why_after_an_idle_timeout(client, db):
    response = client.get(reverse("web:signed_out"), {"grund": "inaktiv"})

    assert "weil Sie eine Weile nichts getan haben" in response.content.decode()


# Language


def test_pages_are_german_by_default(client, db):
    response = client.get(reverse("web:start"))

    assert '<html lang="de">' in response.content.decode()


def test_language_switch_sets_english_and_returns_to_the_page(client, db):
    response = client.post(reverse("web:language"), {"language": "en", "next": "/datenschutz/"})

    assert response["Location"] == "/datenschutz/"
    page = client.get("/datenschutz/").content.decode()
    assert '<html lang="en">' in page
    assert "Privacy notice" in page


def test_language_switch_remembers_the_choice_of_a_signed_in_member(signed_in, member):
    client, _issued = signed_in

    client.post(reverse("web:language"), {"language": "en", "next": "/"})

    member.refresh_from_db()
    assert member.language == "en"


def test_a_language_the_portal_does_not_offer_is_not_remembered(signed_in, member):
    client, _issued = signed_in
    before = member.language

    client.post(reverse("web:language"), {"language": "xx", "next": "/"})

    member.refresh_from_db()
    assert member.language == before


def test_login_applies_the_members_remembered_language(client, member, issue_pin):
    Member.objects.filter(pk=member.pk).update(language="en")
    issued = issue_pin(member)

    login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    assert client.cookies["portal_language"].value == "en"
    assert '<html lang="en">' in client.get(reverse("web:dashboard")).content.decode()


def test_login_remembers_a_language_chosen_before_signing_in(client, member, issue_pin):
    issued = issue_pin(member)
    client.post(reverse("web:language"), {"language": "en", "next": "/anmelden/"})

    login_post(client, kvnr=member.kvnr, pin=issued.plaintext)

    member.refresh_from_db()
    assert member.language == "en"


def test_language_switch_ignores_an_unknown_language(client, db):
    client.post(reverse("web:language"), {"language": "xx", "next": "/"})

    assert '<html lang="de">' in client.get("/").content.decode()


# Public pages


@pytest.mark.parametrize("name", ["web:start", "web:login", "web:privacy", "web:imprint", "web:signed_out"])
def test_public_page_has_the_hotline_as_tel_link_and_the_legal_links(client, db, name):
    text = client.get(reverse(name)).content.decode()

    assert 'href="tel:+493023125000"' in text  # the demo insurer's number (settings.INSURER)
    assert f'href="{reverse("web:privacy")}"' in text
    assert f'href="{reverse("web:imprint")}"' in text
    assert f'action="{reverse("web:language")}"' in text


def test_start_page_answers_the_help_questions(client, db):
    text = client.get(reverse("web:start")).content.decode()

    for question in [
        "Was ist die Einmal-PIN?",
        "Sind meine Daten sicher?",
        "Wie lange gilt meine PIN?",
        "Ich habe meine PIN verloren",
        "Kann ich zwischendurch aufhören?",
        "Die Anmeldung klappt nicht.",
    ]:
        assert question in text


def test_no_page_uses_inline_style_or_script(client, db):
    for name in ["web:start", "web:login", "web:privacy", "web:imprint", "web:signed_out"]:
        text = client.get(reverse(name)).content.decode()
        assert "style=" not in text
        assert "<style" not in text
        assert "<script>" not in text
        assert "onclick" not in text
