"""Photos of one paper document on a phone, in Chromium at 375 px: three photos taken through the camera input,
made smaller on the phone, reordered and one turned with the buttons (announced to screen readers), named,
transmitted, and assembled into one PDF with three upright pages in the chosen order; then a case worker, also on a
375 px phone, opens the submission's viewer and sees the same three pages, upright and in that order, in the pixels
the viewer serves; axe clean on both sides; screenshots of the page-order step. Without JavaScript photos stay plain
files; sizes below 1 MB read in KB."""

import io
import time
from pathlib import Path

import pikepdf
import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from PIL import Image

from scanning.assemble import page_box
from staff.constants import Role
from tests.helpers import LIVE_SERVER_TURN
from tests.scanning.test_assemble import COLOURS, MARKER, corner_colours, near, photo, render
from tests.staff.factories import browser_log_in, make_staff
from tests.staff.viewer import image_loaded
from uploads import services
from uploads.models import PhotoDocument, Submission, SubmissionDocument, Upload

from .factories import SubmissionReasonFactory
from .test_browser import member_context

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(django_settings.BASE_DIR) / "var" / "screenshots"
AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def axe_violations(page) -> list:
    """axe's WCAG 2.1 A/AA violations on the page as it is now: (rule, first targets) each."""
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3]) for v in Axe().run(page, options=AA).response["violations"]
    ]


def wait_for(condition, timeout=30.0):
    """Poll the database until `condition()` holds. Embedded mode's SQLite test database is in memory, its one
    connection shared with the live server's requests: each read waits for the request running (LIVE_SERVER_TURN)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with LIVE_SERVER_TURN:
            if condition():
                return
        time.sleep(0.5)
    raise AssertionError("condition not met in time")


def arranged() -> list[tuple[str, int]]:
    """The names and turns of the draft's photo document's pages, in order, as the server has them."""
    return [(u.name, u.rotation) for u in Upload.objects.filter(photo_document__isnull=False).order_by("page_number")]


def viewer_corners(image: Image.Image, picture: tuple[int, int]) -> dict[str, tuple]:
    """The colour a little inside each corner of the picture on a page image the viewer serves (the A4 page
    rendered at its width: scaled from points as scanning.assemble.page_box places the picture)."""
    page_w, _page_h, x, y, shown_w, shown_h = page_box(*picture)
    scale = image.width / page_w
    x, y, shown_w, shown_h = (value * scale for value in (x, y, shown_w, shown_h))
    top = image.height - (y + shown_h)  # PDF counts from the bottom, pixels from the top
    inset_x, inset_y = shown_w * 0.05, shown_h * 0.05
    left, right, upper, lower = x + inset_x, x + shown_w - inset_x, top + inset_y, top + shown_h - inset_y
    return {
        "top-left": image.getpixel((int(left), int(upper))),
        "top-right": image.getpixel((int(right), int(upper))),
        "bottom-left": image.getpixel((int(left), int(lower))),
        "bottom-right": image.getpixel((int(right), int(lower))),
    }


def viewer_images(page) -> list[tuple[int, Image.Image]]:
    """Every page the viewer shows, following its "next page" link: the page number and the image fetched from
    the viewer's own page URL in the browser's context (the case worker's session, as the <img> loads it)."""
    seen = []
    for _ in range(10):
        image_loaded(page)
        number, src = page.eval_on_selector("#viewer-image", "img => [Number(img.dataset.page), img.src]")
        response = page.request.get(src)
        assert response.ok and response.headers["content-type"].startswith("image/"), response.status
        seen.append((number, Image.open(io.BytesIO(response.body())).convert("RGB")))
        if page.locator("#viewer-next").count() == 0:
            return seen
        page.click("#viewer-next")
        page.wait_for_url(f"**seite={number + 1}**")
    raise AssertionError("the viewer's next link never ended")


# The chosen order: the third photo, the first (turned right: its marker now top right, its band on the right), the
# second. (picture's aspect, where the red marker is, a corner inside the colour band, the band's colour)
CHOSEN = [
    ((600, 800), "top-left", "top-right", COLOURS[2]),
    ((800, 600), "top-right", "bottom-right", COLOURS[0]),
    ((600, 800), "top-left", "top-right", COLOURS[1]),
]


def test_three_photos_reordered_and_turned_on_a_phone_arrive_as_one_upright_pdf(
    browser, live_server, member, issue_pin, file_checks
):
    SubmissionReasonFactory(code="certificate", label_de="Bescheinigung", label_en="Certificate")
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/antrag/")
    page.select_option("#id_reason", label="Bescheinigung")
    composer = page.locator("#photo-composer")
    composer.wait_for(state="visible")
    assert page.get_attribute("#photo-camera", "capture") == "environment"

    # Three photos as a phone camera takes them (3000 px long edge), page after page.
    for number, colour in enumerate(COLOURS, start=1):
        data = photo(colour, size=(2250, 3000))
        page.set_input_files("#photo-camera", files=[{"name": "image.jpg", "mimeType": "image/jpeg", "buffer": data}])
        page.wait_for_selector(f"#photo-pages > li:nth-child({number})")
        assert not errors, errors
        page.wait_for_selector(f"#photo-pages > li:nth-child({number})[data-page-id*='-']", timeout=60_000)
    wait_for(lambda: len(arranged()) == 3)
    # Made smaller on the phone: long edge 2,000 px, far fewer bytes than the 3000 px original.
    for upload in Upload.objects.all():
        with Image.open(io.BytesIO(b"".join(services.upload_open(upload=upload)))) as sent:
            assert max(sent.size) == 2000

    # Page 3 to the front with its button (twice), then turn the new page 2 once.
    third = page.locator("#photo-pages > li").nth(2)
    third.locator(".page-earlier").click()
    assert "jetzt Seite 2 von 3" in page.inner_text("#photo-status")
    # Focus stays on the moved page's button: the keyboard goes on from there.
    page.keyboard.press("Enter")
    assert "jetzt Seite 1 von 3" in page.inner_text("#photo-status")
    page.locator("#photo-pages > li").nth(1).locator(".page-turn").click()
    assert "Seite 2 ist jetzt um 90 Grad gedreht" in page.inner_text("#photo-status")
    page.fill("#photo-title", "Arbeitgeberbescheinigung")
    wait_for(lambda: PhotoDocument.objects.filter(title="Arbeitgeberbescheinigung").exists())
    wait_for(lambda: [turn for _name, turn in arranged()] == [0, 90, 0])
    first_ids = page.eval_on_selector_all("#photo-pages > li", "items => items.map(i => i.dataset.pageId)")
    assert [str(u.public_id) for u in Upload.objects.order_by("page_number")] == first_ids

    SHOTS.mkdir(parents=True, exist_ok=True)
    composer.scroll_into_view_if_needed()
    composer.screenshot(path=str(SHOTS / "member-photo-pages-phone.png"))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_violations(page) == []  # on the phone
    page.set_viewport_size({"width": 1280, "height": 900})
    composer.screenshot(path=str(SHOTS / "member-photo-pages-wide.png"))
    page.screenshot(path=str(SHOTS / "member-draft-photos-wide.png"), full_page=True)
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 375, "height": 740})

    page.goto("/antrag/pruefen/")
    page.check("#id_confirm")
    page.click(".transmit-form button[type=submit]")
    assert page.wait_for_selector("#reference").inner_text() == Submission.objects.get().reference
    context.close()

    file_checks.run()  # the worker assembles the document
    document = SubmissionDocument.objects.get()
    assert document.name == "Arbeitgeberbescheinigung.pdf" and document.is_deliverable
    pdf = b"".join(services.document_open(document=document))
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        assert len(opened.pages) == 3
        assert all(int(p.obj.get("/Rotate", 0)) == 0 for p in opened.pages)
    for number, (picture, marker_at, band_at, colour) in enumerate(CHOSEN, start=1):
        corners = corner_colours(render(pdf, number), picture)
        assert near(corners[marker_at], MARKER), (number, corners)
        assert near(corners[band_at], colour), (number, corners)

    # The case worker, on a phone too, opens the submission and reads the document in the viewer.
    staff = browser.new_context(base_url=live_server.url, locale="de-DE")
    worker = staff.new_page()
    worker.set_viewport_size({"width": 375, "height": 740})
    browser_log_in(worker, make_staff(Role.CASE_WORKER))
    worker.goto(f"/mitarbeiter/eingang/{document.submission.reference}/")
    worker.get_by_role("link", name="Arbeitgeberbescheinigung.pdf ansehen").click()
    assert worker.inner_text("#viewer-position") == "Seite 1 von 3"
    image_loaded(worker)
    worker.screenshot(path=str(SHOTS / "viewer-photo-document-phone.png"), full_page=True)
    assert worker.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe_violations(worker) == []
    shown = viewer_images(worker)
    assert [number for number, _image in shown] == [1, 2, 3]
    for (number, image), (picture, marker_at, band_at, colour) in zip(shown, CHOSEN, strict=True):
        landscape = picture[0] > picture[1]
        assert (image.width > image.height) == landscape, (number, image.size)
        corners = viewer_corners(image, picture)
        # Only one corner is red: the marker, where the member's turn put it (not a mirror, not another turn).
        assert [at for at, pixel in corners.items() if near(pixel, MARKER)] == [marker_at], (number, corners)
        assert near(corners[band_at], colour), (number, corners)
    staff.close()


def test_the_file_button_speaks_the_pages_language_and_small_sizes_read_in_kb(browser, live_server, member, issue_pin):
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    page.goto("/antrag/")
    page.wait_for_selector("#dropzone.is-enhanced")
    box = page.locator("#file-input").bounding_box()
    assert box is None or (box["width"] <= 1 and box["height"] <= 1)  # the native "Choose Files" is not shown
    label = page.locator("label[for=file-input]")
    assert label.inner_text() == "Dateien auswählen" and label.is_visible()
    for _press in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "file-input":
            break
    assert page.evaluate("document.activeElement.id") == "file-input"  # still reached with the keyboard
    sizes = page.evaluate("[0, 800, 120 * 1024, 1.5 * 1024 * 1024].map(window.PortalUploads.sizeText)")
    assert sizes == ["0 KB", "1 KB", "120 KB", "1,5 MB"]
    context.close()


def test_without_javascript_photos_are_plain_files(browser, live_server, member, issue_pin):
    from django.test import Client

    from tests.helpers import login_member

    client = login_member(Client(), issue_pin(member).pin)
    context = browser.new_context(base_url=live_server.url, locale="de-DE", java_script_enabled=False)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page = context.new_page()
    page.goto("/antrag/")
    assert not page.is_visible("#photo-composer")
    files = [
        {"name": f"Seite{n}.jpg", "mimeType": "image/jpeg", "buffer": photo(colour)}
        for n, colour in enumerate(COLOURS[:2], start=1)
    ]
    page.set_input_files("#file-input", files=files)
    page.click("#uploader button[type=submit]")
    page.wait_for_selector("#file-list a:has-text('Seite2.jpg')")
    assert sorted(Upload.objects.values_list("name", flat=True)) == ["Seite1.jpg", "Seite2.jpg"]
    assert not Upload.objects.filter(photo_document__isnull=False).exists()
    context.close()


def test_a_page_removed_with_its_button_is_deleted_and_the_rest_renumbered(browser, live_server, member, issue_pin):
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/antrag/")
    page.locator("#photo-composer").wait_for(state="visible")
    files = [
        {"name": f"Seite{n}.jpg", "mimeType": "image/jpeg", "buffer": photo(colour)}
        for n, colour in enumerate(COLOURS[:2], start=1)
    ]
    page.set_input_files("#photo-choose", files=files)  # "Fotos auswählen": several at once, in their order
    page.wait_for_selector("#photo-pages > li:nth-child(2)[data-page-id*='-']", timeout=60_000)
    wait_for(lambda: [name for name, _turn in arranged()] == ["Seite1.jpg", "Seite2.jpg"])
    removed = page.get_attribute("#photo-pages > li:nth-child(1)", "data-page-id")
    page.locator("#photo-pages > li").first.locator(".page-remove").click()
    assert page.inner_text("#photo-status") == "Seite 1 entfernt. Noch eine Seite."
    assert page.inner_text("#photo-pages > li .page__title") == "Seite 1 von 1"
    # Focus stays in the list (on the remaining page's "Entfernen"), never lost to the page's top.
    assert page.evaluate("document.activeElement.classList.contains('page-remove')")
    wait_for(lambda: not Upload.objects.filter(public_id=removed).exists())
    wait_for(lambda: arranged() == [("Seite2.jpg", 0)])
    context.close()


def documents_on_server() -> dict[str, list[tuple[str, int]]]:
    """Each photo document of the draft by title: its pages' names and turns, in order, as the server has them."""
    return {
        document.title: [
            (u.name, u.rotation) for u in Upload.objects.filter(photo_document=document).order_by("page_number")
        ]
        for document in PhotoDocument.objects.all()
    }


def others_listed(page) -> list[tuple[str, str]]:
    """The composer's list of the draft's other photo documents: each one's text and its button's name."""
    return [
        (item.locator(".composer__other-name").inner_text(), item.locator(".photo-edit").text_content())
        for item in page.locator("#photo-others-list > li").all()
    ]


def test_an_earlier_photo_document_is_listed_and_can_be_edited_again_after_a_reload(
    browser, live_server, member, issue_pin
):
    context = member_context(browser, live_server, issue_pin(member).pin)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/antrag/")
    page.locator("#photo-composer").wait_for(state="visible")

    # A one-page certificate, then "weiteres Dokument", then a two-page form.
    page.set_input_files(
        "#photo-choose", files=[{"name": "Attest.jpg", "mimeType": "image/jpeg", "buffer": photo(COLOURS[0])}]
    )
    page.fill("#photo-title", "Attest")
    page.wait_for_selector("#photo-pages > li:nth-child(1)[data-page-id*='-']", timeout=60_000)
    wait_for(lambda: documents_on_server() == {"Attest": [("Attest.jpg", 0)]})
    page.click("#photo-new")
    assert page.input_value("#photo-title") == ""
    assert others_listed(page) == [("„Attest“, eine Seite", "Bearbeiten: Attest")]
    files = [
        {"name": f"Formular{n}.jpg", "mimeType": "image/jpeg", "buffer": photo(colour)}
        for n, colour in enumerate(COLOURS[1:3], start=1)
    ]
    page.set_input_files("#photo-choose", files=files)
    page.fill("#photo-title", "Formular")
    page.wait_for_selector("#photo-pages > li:nth-child(2)[data-page-id*='-']", timeout=60_000)
    form = [("Formular1.jpg", 0), ("Formular2.jpg", 0)]
    wait_for(lambda: documents_on_server() == {"Attest": [("Attest.jpg", 0)], "Formular": form})

    # After a reload the latest is in the composer and the certificate is listed with its own button.
    page.reload()
    page.locator("#photo-composer").wait_for(state="visible")
    assert page.input_value("#photo-title") == "Formular"
    assert page.locator("#photo-pages > li").count() == 2
    assert others_listed(page) == [("„Attest“, eine Seite", "Bearbeiten: Attest")]
    others = page.locator("#photo-others-list > li")
    page.locator("#photo-composer").screenshot(path=str(SHOTS / "member-photo-documents-phone.png"))
    others.first.locator(".photo-edit").click()
    assert page.input_value("#photo-title") == "Attest"
    assert page.locator("#photo-pages > li").count() == 1
    assert page.inner_text("#photo-status") == "Sie bearbeiten jetzt „Attest“ (eine Seite)."
    assert page.evaluate("document.activeElement.id") == "photo-title"
    assert others_listed(page) == [("„Formular“, 2 Seiten", "Bearbeiten: Formular")]

    # A turn and a new name now change the certificate, and only it.
    page.locator("#photo-pages > li").first.locator(".page-turn").click()
    page.fill("#photo-title", "Attest vom Arzt")
    wait_for(lambda: documents_on_server() == {"Attest vom Arzt": [("Attest.jpg", 90)], "Formular": form})
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#photo-composer").screenshot(path=str(SHOTS / "member-photo-documents-wide.png"))
    assert not errors, errors
    context.close()
