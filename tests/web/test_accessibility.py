"""The accessibility statement (BITV 2.0) with feedback that reaches staff, and the Leichte Sprache page."""

import re

import pytest
from django.urls import reverse

from web.models import AccessibilityFeedback

pytestmark = pytest.mark.django_db


def test_every_page_footer_links_the_statement_and_leichte_sprache(client):
    for name in ("web:start", "web:login", "web:privacy", "web:accessibility", "web:easy_language"):
        html = client.get(reverse(name)).content.decode()
        assert 'href="/barrierefreiheit/"' in html, name
        assert 'href="/leichte-sprache/"' in html, name


def test_statement_names_the_enforcement_body_and_offers_feedback(client):
    html = client.get(reverse("web:accessibility")).content.decode()
    assert "Schlichtungsstelle nach § 16 BGG" in html
    assert 'href="https://www.schlichtungsstelle-bgg.de"' in html
    assert 'name="message"' in html


def test_feedback_is_stored_for_staff_and_confirmed(client):
    response = client.post(
        reverse("web:accessibility"),
        {
            "message": "Der Knopf ist mit dem Screenreader nicht zu finden.",
            "contact": "a@example.org",
            "page": "/antrag/",
        },
    )
    assert response.status_code == 302
    feedback = AccessibilityFeedback.objects.get()
    assert feedback.contact == "a@example.org" and not feedback.handled
    assert "Vielen Dank" in client.get(response["Location"]).content.decode()


def test_empty_feedback_gets_an_error_summary_and_stores_nothing(client):
    response = client.post(reverse("web:accessibility"), {"message": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "<title>Fehler:" in html
    assert 'href="#id_message"' in html
    assert not AccessibilityFeedback.objects.exists()


def test_staff_read_the_feedback_in_admin():
    from tests.staff.factories import make_staff, verified_client

    feedback = AccessibilityFeedback.objects.create(message="Kontrast zu schwach", page="/antrag/")
    client = verified_client(make_staff("administrator"))
    response = client.get(reverse("admin:web_accessibilityfeedback_change", args=[feedback.pk]))
    assert response.status_code == 200
    assert "Kontrast zu schwach" in response.content.decode()


def test_leichte_sprache_explains_purpose_login_and_sending(client):
    html = client.get(reverse("web:easy_language")).content.decode()
    for heading in ("Wofür ist das Portal?", "So melden Sie sich an", "So schicken Sie Papiere"):
        assert heading in html
    # One statement per line: no paragraph longer than a short sentence or two.
    paragraphs = re.findall(r"<p>(.*?)</p>", html.split('class="easy"')[1])
    assert paragraphs and max(len(re.sub(r"<[^>]+>", "", p)) for p in paragraphs) <= 80


def test_one_address_cannot_fill_the_database_with_reports(client):
    for number in range(7):
        response = client.post(reverse("web:accessibility"), {"message": f"Meldung {number}"})
    assert AccessibilityFeedback.objects.count() == 5
    assert response.status_code == 429
    assert "rufen Sie uns an" in response.content.decode()
