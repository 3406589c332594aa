"""The letter's WeasyPrint side: the font-only fetcher, the small user-agent stylesheet and the per-thread renderer
with its parsed stylesheet, font configuration and compiled template (see letters.rendering)."""

import io
import threading
from pathlib import Path

from django.conf import settings
from django.template import Template
from django.template.loader import get_template
from django.utils import translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from core.branding import LOGO_DATA_PREFIXES, data_uri

from .rendering import (
    DATE_FORMATS,
    FONT_FILES,
    PDF_VARIANT,
    STYLESHEET,
    UA_STYLESHEET,
    LetterContent,
    LetterRenderError,
    RenderedLetter,
    _font_css,
)


class FontOnlyFetcher(URLFetcher):
    """Hands WeasyPrint the shipped font files and refuses every other URL; a refused font stops the render."""

    def __init__(self, allowed: set[str]) -> None:
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, fail_on_errors=True)
        self.allowed = frozenset(allowed)

    def fetch(self, url, headers=None):
        # The insurer's logo comes inline as a data: address (image types only; anything it links is refused here).
        if url not in self.allowed and not url.startswith(LOGO_DATA_PREFIXES):
            raise ValueError("letters fetch nothing but their own fonts and the inline logo")
        return super().fetch(url, headers)


class LetterHTML(HTML):
    """A letter document with the letter's own small user-agent stylesheet (see letter_ua.css).

    Should WeasyPrint stop calling this hook, it falls back to its full stylesheet: slower, the same letter.
    """

    ua_stylesheet: CSS

    def _ua_stylesheets(self, forms=False):
        return [self.ua_stylesheet]


class LetterRenderer:
    """Holds the parsed stylesheet, the font configuration and the compiled template; one per process."""

    def __init__(self) -> None:
        self.font_dir = Path(settings.LETTER_FONT_DIR).resolve()
        self.allowed = {(self.font_dir / name).as_uri() for weights in FONT_FILES.values() for name in weights.values()}
        missing = [uri for uri in self.allowed if not Path(uri.removeprefix("file://")).exists()]
        if missing:
            raise LetterRenderError(f"letter fonts missing: {sorted(missing)} (install fonts-dejavu-core)")
        self.font_config = FontConfiguration()
        css_text = _font_css(self.font_dir) + "\n" + STYLESHEET.read_text(encoding="utf-8")
        self.fetcher = FontOnlyFetcher(self.allowed)
        self.stylesheet = CSS(string=css_text, font_config=self.font_config, url_fetcher=self.fetcher)
        self.ua_stylesheet = CSS(string=UA_STYLESHEET.read_text(encoding="utf-8"))
        self.template: Template = get_template("letters/letter.html")

    def context(self, content: LetterContent) -> dict:
        insurer = settings.INSURER
        return {
            "language": content.language,
            "reference": content.reference,
            "full_name": content.full_name,
            "address_lines": content.address_lines,
            "case_title": content.case_title,
            "kvnr": content.kvnr,
            "date_format": DATE_FORMATS.get(content.language, DATE_FORMATS["de"]),
            "pin_display": content.pin_display,
            "valid_until": content.valid_until,
            "letter_date": content.letter_date,
            "insurer_name": insurer.name,
            "sender_lines": insurer.postal_address,
            "return_line": insurer.sender_line,
            "hotline": insurer.hotline_phone,
            "hotline_hours": insurer.hotline_hours(content.language),
            "logo_uri": data_uri(insurer.logo, insurer.logo_type),
            "portal_url": settings.PORTAL_PUBLIC_URL,
        }

    def html(self, content: LetterContent) -> str:
        with translation.override(content.language):
            return self.template.render(self.context(content))

    def document(self, html: str):
        source = LetterHTML(string=html, url_fetcher=self.fetcher, base_url=self.font_dir.as_uri() + "/")
        source.ua_stylesheet = self.ua_stylesheet
        return source.render(stylesheets=[self.stylesheet], font_config=self.font_config)

    def render(self, content: LetterContent) -> RenderedLetter:
        failure = None
        try:
            html = self.html(content)
            document = self.document(html)
            if len(document.pages) != 1:
                failure = f"{len(document.pages)} Seiten statt einer"
            else:
                out = io.BytesIO()
                document.write_pdf(out, pdf_variant=PDF_VARIANT)
                result = RenderedLetter(pdf=out.getvalue(), pages=1)
        except Exception as error:  # any failure: its text may quote the PIN
            failure = type(error).__name__
        if failure is not None:
            # Raised outside the except block so that no traceback chain leads back to the letter's text.
            raise LetterRenderError(f"Brief konnte nicht gesetzt werden ({failure})")
        return result


_local = threading.local()


def renderer() -> LetterRenderer:
    """This thread's renderer (WeasyPrint objects are not shared between threads)."""
    if getattr(_local, "renderer", None) is None:
        _local.renderer = LetterRenderer()
    return _local.renderer
