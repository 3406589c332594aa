"""The documentation holds together: every relative link in README.md, SECURITY.md, CHANGELOG.md and docs/*.md
reaches a file (and, with a #fragment, a heading of that file), README.md stays a five-minute read, and the pages
speak of the product, not of the project's issue numbers.

Links are read the way GitHub renders Markdown: inline links and images, reference definitions, headings turned
into anchors (lower case, punctuation dropped, spaces to hyphens, -1/-2 for repeats); code blocks and code spans
are not links. docs/_changes/ holds notes for the next merge and is not checked."""

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 200

FENCE = re.compile(r"^ {0,3}(```|~~~)")
INDENTED_CODE = re.compile(r"^(?: {4}|\t)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")
ISSUE_NUMBER = re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE)


def documents() -> list[Path]:
    """The pages a reader meets: the three at the root and every page directly in docs/."""
    pages = [ROOT / name for name in ("README.md", "SECURITY.md", "CHANGELOG.md")]
    return pages + sorted((ROOT / "docs").glob("*.md"))


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced and indented code blocks, with code spans blanked."""
    lines, fenced, previous_blank = [], False, True
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            previous_blank = False
            continue
        blank = not line.strip()
        indented_code = previous_blank and INDENTED_CODE.match(line) and not line.lstrip().startswith(("-", "*"))
        if fenced or indented_code:
            # An indented block goes on while lines stay indented or blank.
            previous_blank = bool(indented_code) or blank
            continue
        previous_blank = blank
        lines.append((number, CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link in a heading anchors by its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        found += [(number, target) for target in INLINE_LINK.findall(line)]
        reference = REFERENCE.match(line)
        if reference:
            found.append((number, reference.group(1)))
    return found


def broken_links(path: Path) -> list[str]:
    """Every relative link of a page that reaches no file, or no heading of the file it names."""
    problems = []
    for number, target in links(path):
        if not target or EXTERNAL.match(target):
            continue
        file_part, _, fragment = target.partition("#")
        destination = (path.parent / unquote(file_part)).resolve() if file_part else path
        where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}: {target}"
        if not destination.exists():
            problems.append(f"{where} (no such file)")
        elif fragment and destination.suffix == ".md" and unquote(fragment).lower() not in anchors(destination):
            problems.append(f"{where} (no heading with that anchor)")
    return problems


@pytest.mark.parametrize("page", documents(), ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_reaches_its_file_and_heading(page):
    assert page.exists(), f"{page.relative_to(ROOT)} is missing"
    assert broken_links(page) == []


def test_the_readme_is_a_five_minute_read():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


@pytest.mark.parametrize("page", documents(), ids=lambda page: str(page.relative_to(ROOT)))
def test_the_pages_speak_of_the_product_not_of_issue_numbers(page):
    hits = [f"{number}: {line.strip()}" for number, line in prose_lines(page.read_text(encoding="utf-8"))]
    assert [hit for hit in hits if ISSUE_NUMBER.search(hit.split(": ", 1)[1])] == []


def test_the_checker_finds_a_missing_file_a_missing_heading_and_ignores_code(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## Storage and several nodes\n\n## Logs\n\n## Logs\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md#storage-and-several-nodes) and [second logs](other.md#logs-1) and [here](#page)\n"
        "[gone](missing.md) and ![picture](img/none.png)\n"
        "[bad anchor](other.md#storage) and [external](https://example.org/x.md) and [mail](mailto:a@b.example)\n"
        "`[in code](nowhere.md)`\n\n"
        "    [indented code](nowhere.md)\n\n"
        "```\n[fenced](nowhere.md)\n```\n\n"
        "[ref]: also-missing.md\n"
    )
    found = broken_links(page)
    assert [problem.split(": ", 1)[1] for problem in found] == [
        "missing.md (no such file)",
        "img/none.png (no such file)",
        "other.md#storage (no heading with that anchor)",
        "also-missing.md (no such file)",
    ]


def test_headings_anchor_as_github_renders_them():
    assert slug("Storage and several nodes") == "storage-and-several-nodes"
    assert slug("[0.1.0] - 2026-12-02") == "010---2026-12-02"
    assert slug("Health, metrics and logs") == "health-metrics-and-logs"
    assert slug("Uploaded documents: scanning and disarm") == "uploaded-documents-scanning-and-disarm"
    assert slug("The `core` app") == "the-core-app"
