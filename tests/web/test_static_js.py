"""The page scripts share one module for CSRF and retry back-off, and the vendored tus-js-client is what its
VERSION note says (no build step, nothing fetched at run time)."""

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings

STATIC = Path(settings.BASE_DIR) / "static"


def test_csrf_and_back_off_live_once_in_portal_js():
    shared = (STATIC / "js" / "portal.js").read_text()
    assert "X-CSRFToken" in shared and "function backoff" in shared
    for name in ("autosave.js", "uploads.js"):
        script = (STATIC / "js" / name).read_text()
        assert "window.Portal" in script, name
        assert "X-CSRFToken" not in script, name  # no second copy of the CSRF header
        assert not re.search(r"DELAYS\s*=\s*\[", script), name  # no second back-off table


def test_vendored_tus_js_client_matches_its_note():
    folder = STATIC / "vendor" / "tus-js-client"
    note = (folder / "VERSION").read_text()
    assert re.search(r"tus-js-client \d+\.\d+\.\d+", note) and "MIT" in note
    assert "MIT License" in (folder / "LICENSE").read_text()
    for name in ("tus.min.js", "tus.min.js.map"):
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert f"sha256 {digest}  {name}" in note


def test_every_source_map_a_vendored_script_names_is_vendored_with_it():
    for script in (STATIC / "vendor").rglob("*.js"):
        for reference in re.findall(r"^//# sourceMappingURL=(\S+)\s*$", script.read_text(), re.MULTILINE):
            assert (script.parent / reference).is_file(), (script.name, reference)


@pytest.mark.django_db
def test_the_upload_page_loads_the_vendored_client_before_our_script(client, member, issue_pin):
    from tests.helpers import login_member

    login_member(client, issue_pin(member).pin)
    html = client.get("/antrag/").content.decode()
    assert html.index("vendor/tus-js-client/tus.min.js") < html.index("js/uploads.js")
    assert html.index("js/portal.js") < html.index("js/autosave.js")
