"""The PIN letter as a PDF: template, stylesheet and fonts are loaded once per process and reused for every letter.

WeasyPrint only ever reads the shipped fonts (Debian's DejaVu, settings.LETTER_FONT_DIR) and the insurer's logo,
inlined as a data: address; every other URL is refused, so a letter never fetches anything. Errors are re-raised as LetterRenderError carrying the error's type
only: a template or layout message could quote the letter's text, and the letter's text holds the PIN.

What a letter is (LetterContent, RenderedLetter, LetterRenderError) lives here; the WeasyPrint side (letters.engine)
is imported when the first letter is set, so the web processes and commands that never set one (every Django
process imports the letters' services) do not load WeasyPrint, about 0.6 s of CPU each.
"""

import datetime
from dataclasses import dataclass, field
from pathlib import Path

STYLESHEET = Path(__file__).with_name("letter.css")
UA_STYLESHEET = Path(__file__).with_name("letter_ua.css")
FONT_FILES = {
    "Letter Sans": {"normal": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"},
    "Letter Mono": {"normal": "DejaVuSansMono.ttf"},
}
PDF_VARIANT = "pdf/a-2b"
# Dates on paper, German style in both languages: "2. Dezember 2026" / "2 December 2026".
DATE_FORMATS = {"de": "j. F Y", "en": "j F Y"}
# A PIN for specimens: "0" and "I" are not in the PIN alphabet, so it can never be anybody's real PIN.
SPECIMEN_PIN = "MUST-ER00-PIN0"


class LetterRenderError(Exception):
    """The letter could not be rendered; the message names the error's type, never its text."""


@dataclass(frozen=True)
class LetterContent:
    """Everything printed in one letter."""

    reference: str
    language: str
    full_name: str
    address_lines: list[str]
    purpose: str
    valid_until: datetime.date
    letter_date: datetime.date
    pin_display: str = field(repr=False)
    # The member-facing title of the case (a campaign's Anlass); never the internal reason for the letter.
    case_title: str = ""
    kvnr: str = ""


@dataclass(frozen=True)
class RenderedLetter:
    pdf: bytes = field(repr=False)
    pages: int


def _font_css(font_dir: Path) -> str:
    rules = []
    for family, weights in FONT_FILES.items():
        for weight, filename in weights.items():
            uri = (font_dir / filename).as_uri()
            rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{uri}"); }}')
    return "\n".join(rules)


def renderer():
    """This thread's renderer (letters.engine.LetterRenderer): WeasyPrint is imported with the first letter."""
    from .engine import renderer

    return renderer()


def render_letter(*, content: LetterContent) -> RenderedLetter:
    return renderer().render(content)
