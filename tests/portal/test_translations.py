"""Every English catalogue is complete: no message left untranslated or fuzzy."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(p for p in ROOT.glob("**/locale/en/LC_MESSAGES/django.po") if ".venv" not in p.parts)
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.MULTILINE)


def joined(lines: str) -> str:
    return "".join(re.findall(r'"(.*)"', lines))


def test_there_are_catalogues():
    assert CATALOGUES


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalogue_is_complete(path):
    text = path.read_text("utf-8")
    untranslated = [joined(m[1]) for m in ENTRY.finditer(text) if joined(m[1]) and not joined(m[2])]
    assert untranslated == []
    assert "#, fuzzy" not in text
