"""A second insurer renders everywhere with no trace of the first: member pages (DOM, Chromium at 1280 and 375 px,
screenshots in var/screenshots/second-identity-*), error pages, a PIN letter, a campaign letter and the receipt
(pdftotext), its logo through the content security policy's 'self' and its colour at AA contrast."""

import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.utils import translation
from PIL import Image, ImageDraw

from core.branding import Insurer, contrast_ratio
from letters.layered import render_campaign_letters
from letters.rendering import render_letter
from tests.helpers import login_member
from tests.letters.factories import letter_content
from tests.screens.test_screens import Screens, context_with_session
from tests.staff.factories import transmitted_submission
from tests.uploads.factories import DraftFactory, SubmissionReasonFactory
from uploads.models import SubmissionReason
from uploads.receipt import receipt_pdf
from web import errors

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the first identity (the demo's insurer, and the number and PO box that used to be hard-coded) leaves
# behind if any page, letter or receipt still reads it from somewhere else than settings.INSURER.
FIRST_IDENTITY = [
    "Musterkasse",
    "Musterweg",
    "Musterstadt",
    "030 23125 000",
    "+493023125000",
    "musterkasse.example",
    "keine echte Hotline",
    "0800 265 5032",
    "+498002655032",
    "Postfach 10 02 00",
    "50442",
    "/marke/logo.svg",
]
GREEN = "#00622e"
SECOND = {
    "name": "Nordlicht Betriebskrankenkasse",
    "short_name": "Nordlicht BKK",
    "hotline_phone": "040 66969 777",
    "hotline_hours_de": "Mo-Fr 7-19 Uhr",
    "hotline_hours_en": "Mon-Fri 7am-7pm",
    "postal_address": ["Leuchtturmweg 9", "00001 Prüfhafen"],
    "website": "https://nordlicht.example",
    "imprint_url": "https://nordlicht.example/impressum",
    "privacy_contact": ["Datenschutz Nordlicht", "datenschutz@nordlicht.example"],
    "brand_colour": GREEN,
}


def _png_logo(path: Path) -> Path:
    """A logo no page could draw by accident: a green plate with an orange disc and a white bar."""
    image = Image.new("RGB", (240, 80), GREEN)
    draw = ImageDraw.Draw(image)
    draw.ellipse((12, 12, 68, 68), fill="#ff8c00")
    draw.rectangle((86, 30, 226, 50), fill="#ffffff")
    image.save(path, format="PNG")
    return path


@pytest.fixture
def second(settings, tmp_path) -> Insurer:
    insurer = Insurer.build(**SECOND, logo_path=str(_png_logo(tmp_path / "nordlicht.png")))
    settings.INSURER = insurer
    return insurer


def traces(text: str) -> list[str]:
    return [trace for trace in FIRST_IDENTITY if trace in text]


def pdf_text(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_images(pdf: bytes, tmp_path: Path, name: str) -> list[str]:
    path = tmp_path / f"{name}-images.pdf"
    path.write_bytes(pdf)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines()[2:] if line.strip()]


def assert_second_identity(text: str, insurer: Insurer, where: str) -> None:
    flat = " ".join(text.split())
    assert traces(flat) == [], f"{where} still shows the first insurer"
    for value in (insurer.name, insurer.hotline_phone, insurer.postal_address[0]):
        assert value in flat, f"{where} lacks {value!r}"


@pytest.mark.slow(8)
def test_member_pages_show_only_the_second_insurer(browser, live_server, second, member, issue_pin):
    SubmissionReasonFactory(code="certificate", label_de="Bescheinigung", label_en="Certificate")
    anonymous = browser.new_context(base_url=live_server.url, locale="de-DE")
    screens = Screens(anonymous, "second-identity")
    refused: list[str] = []
    pages: dict[str, str] = {}

    def watch(page) -> None:
        page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)

    def read(name: str, path: str) -> None:
        screens.visit(name, path)
        page = screens.page
        pages[name] = page.content()
        header = page.evaluate(
            """() => {
                const header = getComputedStyle(document.querySelector('.site-header'));
                const logo = document.querySelector('.brand__logo img');
                return {background: header.backgroundColor, colour: header.color,
                        logo: logo ? logo.getAttribute('src') : '', logoWidth: logo ? logo.naturalWidth : 0};
            }"""
        )
        assert header["background"] == "rgb(0, 98, 46)", f"{name}: header in {header['background']}"
        assert header["logo"].startswith("/marke/logo.png?v="), f"{name}: logo {header['logo']!r}"
        assert header["logoWidth"] == 240, f"{name}: the logo did not load"
        assert contrast_ratio(GREEN, "#ffffff") >= 4.5

    watch(screens.page)
    for name, path in [
        ("start", "/"),
        ("login", "/anmelden/"),
        ("privacy", "/datenschutz/"),
        ("imprint", "/impressum/"),
        ("accessibility", "/barrierefreiheit/"),
        ("easy-language", "/leichte-sprache/"),
        ("not-found", "/gibt-es-nicht/"),
    ]:
        read(name, path)
    anonymous.close()

    reason = SubmissionReason.objects.get(code="certificate")
    DraftFactory(member=member, reason=reason, message="Anbei meine Unterlagen.")
    context = context_with_session(browser, live_server, login_member(Client(), issue_pin(member).pin))
    screens.page = context.new_page()
    watch(screens.page)
    read("dashboard", "/uebersicht/")
    read("draft", "/antrag/")
    screens.page.goto("/leichte-sprache/")
    english = screens.page
    english.click("button[name=language][value=en]")
    english.wait_for_load_state()
    pages["easy-language-after-switch"] = english.content()
    read("start-en", "/")
    context.close()

    for name, html in pages.items():
        assert traces(html) == [], f"{name} still shows the first insurer: {traces(html)}"
        assert second.name in html, name
        assert second.hotline_phone in html, name
        assert second.hotline_tel in html, name
    assert "Mo-Fr 7-19 Uhr" in pages["start"]
    assert "Mon-Fri 7am-7pm" in pages["start-en"]
    for value in ("Leuchtturmweg 9", "https://nordlicht.example/impressum", "datenschutz@nordlicht.example"):
        assert value in pages["imprint"]
    assert "datenschutz@nordlicht.example" in pages["privacy"]
    assert refused == []
    assert screens.problems == [], "\n".join(screens.problems)


def test_error_pages_show_only_the_second_insurer(second):
    request = RequestFactory().get("/irgendwo/")
    with translation.override("de"):
        responses = {
            "400": errors.bad_request(request, None),
            "403": errors.permission_denied(request, None),
            "404": errors.page_not_found(request, None),
            "500": errors.server_error(request),
            "503": errors.service_unavailable(request),
        }
    for status, response in responses.items():
        html = response.content.decode()
        assert traces(html) == [], f"the {status} page still shows the first insurer"
        assert second.hotline_phone in html and second.name in html, status
        assert "/marke/farben.css?v=" + second.version in html, status


def test_brand_addresses_serve_the_second_colour_and_logo(client, second, django_assert_num_queries):
    # Answered before the session is read: they load on the 503 page of a database outage too.
    with django_assert_num_queries(0):
        css = client.get(f"/marke/farben.css?v={second.version}")
        logo = client.get(f"/marke/logo.png?v={second.version}")
        old_logo = client.get("/marke/logo.svg")

    assert css["Content-Type"].startswith("text/css")
    assert f"--brand: {GREEN}" in css.content.decode()
    assert css["Cache-Control"] == "public, max-age=86400"
    assert logo["Content-Type"] == "image/png"
    assert logo.content == second.logo
    assert logo["X-Content-Type-Options"] == "nosniff"
    assert old_logo.status_code == 404


def test_letters_and_the_receipt_show_only_the_second_insurer(second, member, tmp_path):
    letter = render_letter(content=letter_content())
    campaign = render_campaign_letters(
        contents=[letter_content(reference="K-1", kvnr=member.kvnr), letter_content(reference="K-2")],
        template="standard",
    )
    receipt = receipt_pdf(submission=transmitted_submission(member))

    for name, pdf in [("letter", letter.pdf), ("campaign", campaign[0].document), ("receipt", receipt)]:
        text = pdf_text(pdf, tmp_path, name)
        assert_second_identity(text, second, name)
        assert "Mo-Fr 7-19 Uhr" in text, name
        assert pdf_images(pdf, tmp_path, name), f"{name} has no logo"
        pages = subprocess.run(
            [
                "pdftoppm",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-png",
                str(tmp_path / f"{name}.pdf"),
                str(_shots() / f"second-identity-{name}"),
            ],
            capture_output=True,
        )
        assert pages.returncode == 0
    letter_text = " ".join(pdf_text(letter.pdf, tmp_path, "letter").split())
    assert second.sender_line == "Nordlicht BKK · Leuchtturmweg 9 · 00001 Prüfhafen"
    assert "Nordlicht BKK · Leuchtturmweg 9 · 00001 Prüfhafen" in letter_text


def _shots() -> Path:
    shots = Path(django_settings.BASE_DIR) / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def test_the_first_identity_is_what_this_test_would_find(settings, member, tmp_path):
    """The traces are real: with the demo insurer the same letter is full of them, so the checks above can fail."""
    text = pdf_text(render_letter(content=letter_content()).pdf, tmp_path, "demo")

    assert "Musterkasse" in " ".join(text.split())
    assert "030 23125 000" in text
