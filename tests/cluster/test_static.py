"""Production's static pipeline: the image's static step (scripts/collectstatic.sh, production's manifest storage)
succeeds on the vendored files, and pages name the hashed files nginx serves (the two-node test runs on them)."""

import json
import re
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HASHED = re.compile(r"\.[0-9a-f]{12}\.(?:css|js)$")
ASSET = re.compile(r'<(?:link[^>]+href|script[^>]+src)="(/static/[^"]+)"')
SOURCE_MAP = re.compile(rb"^//# sourceMappingURL=(\S+)\s*$", re.MULTILINE)


def manifest(static_root: Path) -> dict[str, str]:
    return json.loads((static_root / "staticfiles.json").read_text())["paths"]


def test_the_images_static_step_is_the_script_the_tests_run():
    dockerfile = (ROOT / "Dockerfile").read_text()
    steps = [line for line in dockerfile.splitlines() if "collectstatic" in line and not line.startswith("#")]
    assert len(steps) == 1 and "scripts/collectstatic.sh" in steps[0], steps
    assert "manage.py collectstatic" in (ROOT / "scripts" / "collectstatic.sh").read_text()


@pytest.mark.slow(6)
def test_every_collected_script_names_a_source_map_that_was_collected_too(collected_static):
    paths = manifest(collected_static)
    assert HASHED.search(paths["vendor/tus-js-client/tus.min.js"])
    checked = 0
    for name, hashed in paths.items():
        if not name.endswith(".js"):
            continue
        for reference in SOURCE_MAP.findall((collected_static / hashed).read_bytes()):
            target = (collected_static / hashed).parent / reference.decode()
            assert target.is_file(), (hashed, reference)
            checked += 1
    assert checked >= 1  # tus.min.js names its map (rewritten to the map's hashed name)


def assert_page_assets_come_from_the_manifest(web: requests.Session, base: str, html: str, static_root: Path) -> None:
    """Every stylesheet and script the page names is a hashed file from the manifest, served by nginx as collected."""
    assets = ASSET.findall(html)
    assert any(path.endswith(".css") for path in assets) and any(path.endswith(".js") for path in assets), assets
    hashed_names = set(manifest(static_root).values())
    for path in assets:
        name = path.removeprefix("/static/")
        assert HASHED.search(name) and name in hashed_names, path
        response = web.get(f"{base}{path}", timeout=30)
        assert response.status_code == 200, path
        assert "immutable" in response.headers["Cache-Control"], path
        assert response.content == (static_root / name).read_bytes(), path
