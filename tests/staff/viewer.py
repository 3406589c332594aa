"""What the case worker's viewer shows, for tests that end there (a member's photos taken page by page, say).

`viewer_pages` walks the viewer in Chromium with its own "next page" link and returns each page's number and the
natural size of its image, in the order shown: "N upright pages in this order" is `len(...) == N`, every
height > width for portrait pages, and the numbers 1..N. `rendered_pages` is the same from the database
(uploads.selectors.document_page_images), for tests without a browser.
"""

import time

from django.urls import reverse

from uploads.selectors import document_page_images


def viewer_url(document) -> str:
    return reverse("staff:viewer", args=[document.submission.reference, document.public_id])


def image_loaded(page, selector: str = "#viewer-image", *, seconds: float = 15) -> None:
    """Wait until the image has loaded (polled with evaluate: the pages' CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + seconds
    script = f"document.querySelector({selector!r}) && document.querySelector({selector!r}).naturalWidth > 0"
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"{selector} did not load"
        time.sleep(0.05)


def viewer_pages(page, document, *, limit: int = 50) -> list[tuple[int, int, int]]:
    """(page number, image width, image height) of every page the viewer shows, following its next link."""
    page.goto(viewer_url(document))
    seen = []
    for _ in range(limit):
        image = page.locator("#viewer-image")
        image.wait_for()
        image_loaded(page)
        size = image.evaluate("img => [Number(img.dataset.page), img.naturalWidth, img.naturalHeight]")
        seen.append(tuple(size))
        if page.locator("#viewer-next").count() == 0:
            break
        page.click("#viewer-next")
    return seen


def rendered_pages(document) -> list[tuple[int, int, int]]:
    """(page number, width, height) of the document's rendered page images in page order."""
    return [(row.number, row.width, row.height) for row in document_page_images(document=document)]
