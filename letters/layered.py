"""Campaign letters for volume: the static layer is laid out once, per letter only the variable fields are.

A campaign's letters share everything but a few fields (address, salutation, reference, KVNR, date, PIN, validity).
The static layer is rendered once per process, template, language and case with those fields' slots left empty;
the slots' positions are read from its layout. Per letter WeasyPrint lays out only the slots at those positions
(a small document). What a letter stores is its page of fields; the static page, the fields' fonts and the
PDF/A-2b declaration are its shared layer, stored once (letters.composition, which also composes the complete
letter: one page, text extractable). A field that needs more room than its slot (a long name or street) makes
the letter fall back to the full render of the same template, stored whole.
"""

import datetime
import io
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.template.loader import get_template
from django.utils import translation
from django.utils.dateformat import format as date_format_fn
from weasyprint import CSS
from weasyprint.formatting_structure.boxes import LineBox, TextBox

from .engine import LetterHTML, LetterRenderer, renderer
from .rendering import (
    DATE_FORMATS,
    PDF_VARIANT,
    LetterContent,
    LetterRenderError,
    RenderedLetter,
    _font_css,
)

# pikepdf announces its logger bridge at INFO on import; nobody needs that line in every command's output.
logging.getLogger("pikepdf._core").setLevel(logging.WARNING)
import pikepdf  # noqa: E402

from .composition import (  # noqa: E402
    REPERTOIRE,
    FontCover,
    SharedLayer,
    colour_fingerprint,
    compose,
    fonts_of,
    share_resources,
    shared_layer,
    variable_part,
)

CAMPAIGN_STYLESHEET = Path(__file__).with_name("campaign.css")
VARIABLE_STYLESHEET = Path(__file__).with_name("campaign_variable.css")
# The reviewed campaign templates: a choice in the admin, never HTML typed there.
TEMPLATES = {"standard": "letters/campaign/standard.html"}
SLOTS = ("address", "reference", "kvnr", "date", "salutation", "pin", "valid")
# Half a CSS pixel of slack for rounding in the layout.
EPSILON = 0.5


@dataclass(frozen=True)
class Slot:
    name: str
    css: str
    x: float
    y: float
    width: float
    height: float
    value: str = field(default="", repr=False)


@dataclass(frozen=True)
class LayeredLetter(RenderedLetter):
    """A rendered letter and how: "layered" (static layer + variable fields) or "full" (the fallback).

    `pdf` is what is stored for the letter: for "full" the complete letter, for "layered" its variable page, which
    `layer` (the shared layer, stored once) completes; `document` is the complete letter either way.
    """

    method: str = "layered"
    layer: SharedLayer | None = None

    @property
    def document(self) -> bytes:
        return self.pdf if self.layer is None else compose(variable=self.pdf, layer=self.layer)


def _salutation(content: LetterContent) -> str:
    with translation.override(content.language):
        return translation.gettext("Guten Tag %(name)s,") % {"name": content.full_name}


def _walk(box):
    yield box
    for child in getattr(box, "children", ()):
        yield from _walk(child)


class StaticLayer:
    """One template's static page for one language and case: its PDF as a form XObject and its slots' geometry."""

    def __init__(self, *, renderer: LetterRenderer, template: str, language: str, case_title: str) -> None:
        self.renderer = renderer
        self.template = get_template(TEMPLATES[template])
        self.language = language
        self.case_title = case_title
        self.extra = CSS(string=CAMPAIGN_STYLESHEET.read_text(encoding="utf-8"))
        variable_css = _font_css(renderer.font_dir) + "\n" + VARIABLE_STYLESHEET.read_text(encoding="utf-8")
        self.variable_stylesheet = CSS(
            string=variable_css, font_config=renderer.font_config, url_fetcher=renderer.fetcher
        )
        placeholder = LetterContent(
            reference="",
            language=language,
            full_name="",
            address_lines=[],
            purpose="",
            valid_until=datetime.date.today(),
            letter_date=datetime.date.today(),
            pin_display="",
            case_title=case_title,
        )
        document = self._document(self.html(placeholder, layer="static"))
        if len(document.pages) != 1:
            raise LetterRenderError(f"Vorlage {template}: {len(document.pages)} Seiten statt einer")
        self.slots = self._slots(document.pages[0]._page_box)
        out = io.BytesIO()
        document.write_pdf(out, pdf_variant=PDF_VARIANT)
        with pikepdf.open(io.BytesIO(out.getvalue())) as static, pikepdf.open(io.BytesIO(self._carrier())) as carrier:
            self.shared = SharedLayer.of(shared_layer(static=static, carrier=carrier))
            self.covers = {name: FontCover.of(font) for name, font in fonts_of(carrier).items()}
            self.colour = colour_fingerprint(carrier)

    def _carrier(self) -> bytes:
        """A document in the variable layer's fonts (regular, bold, mono) with every glyph of the repertoire: its
        font subsets are the shared fonts of the variable pages."""
        text = " ".join(REPERTOIRE).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        styles = ("font-weight: normal", "font-weight: bold", "font-family: 'Letter Mono'")
        html = "".join(f'<p style="{style}">{text}</p>' for style in styles)
        document = self._document(f"<html><body>{html}</body></html>", variable=True)
        out = io.BytesIO()
        document.write_pdf(out, pdf_variant=PDF_VARIANT)
        return out.getvalue()

    def html(self, content: LetterContent, *, layer: str, slots: list[Slot] | None = None) -> str:
        context = self.renderer.context(content)
        context.update(layer=layer, slots=slots or [], salutation=_salutation(content) if content.full_name else "")
        with translation.override(content.language):
            return self.template.render(context)

    def _document(self, html: str, *, variable: bool = False):
        source = LetterHTML(string=html, url_fetcher=self.renderer.fetcher, base_url=self.renderer.font_dir.as_uri())
        source.ua_stylesheet = self.renderer.ua_stylesheet
        stylesheets = [self.variable_stylesheet] if variable else [self.renderer.stylesheet, self.extra]
        return source.render(stylesheets=stylesheets, font_config=self.renderer.font_config)

    @staticmethod
    def _slots(page_box) -> dict[str, Slot]:
        found: dict[str, Slot] = {}
        for box in _walk(page_box):
            element = getattr(box, "element", None)
            ident = element.get("id", "") if element is not None else ""
            if ident.startswith("slot-") and ident[5:] not in found:
                css = " ".join(c for c in element.get("class", "").split() if c != "slot")
                found[ident[5:]] = Slot(
                    name=ident[5:],
                    css=css,
                    x=round(box.content_box_x(), 3),
                    y=round(box.content_box_y(), 3),
                    width=round(box.width, 3),
                    height=round(box.height, 3),
                )
        missing = set(SLOTS) - set(found)
        if missing:
            raise LetterRenderError(f"Vorlage ohne Felder {sorted(missing)}")
        return found

    def variable_slots(self, content: LetterContent) -> list[Slot]:
        date_format = DATE_FORMATS.get(content.language, DATE_FORMATS["de"])
        with translation.override(content.language):
            values = {
                "address": "",
                "reference": content.reference,
                "kvnr": content.kvnr,
                "date": date_format_fn(content.letter_date, date_format),
                "salutation": _salutation(content),
                "pin": content.pin_display,
                "valid": date_format_fn(content.valid_until, date_format),
            }
        return [
            Slot(name=s.name, css=s.css, x=s.x, y=s.y, width=s.width, height=s.height, value=values[s.name])
            for s in self.slots.values()
        ]

    @staticmethod
    def overflows(page_box) -> bool:
        """True when some text of a slot lies outside its slot (wrapped into more lines, or wider than the slot)."""
        for box in _walk(page_box):
            element = getattr(box, "element", None)
            # The slot's own box (absolutely placed, so wrapped in a placeholder), not its lines.
            if isinstance(box, LineBox | TextBox) or element is None or element.tag != "div":
                continue
            if "slot" not in element.get("class", "").split():
                continue
            right = box.content_box_x() + box.width + EPSILON
            bottom = box.content_box_y() + box.height + EPSILON
            for inner in _walk(box):
                if isinstance(inner, LineBox | TextBox) and (
                    inner.position_x + inner.margin_width() > right or inner.position_y + inner.margin_height() > bottom
                ):
                    return True
        return False

    def render_many(self, contents: list[LetterContent]) -> list[LayeredLetter | None]:
        """The letters as static + variable layer; None for a letter with a field that does not fit its slot.

        The variable layers of all letters are laid out in one WeasyPrint document, one page each (the per-document
        cost is shared), then split: each letter keeps its page, its fonts replaced by the shared layer's where
        those cover them (letters.composition); the shared layer completes it.
        """
        sheets = [{"slots": self.variable_slots(c), "address_lines": c.address_lines} for c in contents]
        context = self.renderer.context(contents[0])
        context.update(layer="variable", sheets=sheets)
        with translation.override(self.language):
            html = self.template.render(context)
        document = self._document(html, variable=True)
        if len(document.pages) != len(contents):
            return [None] * len(contents)
        fits = [not self.overflows(page._page_box) for page in document.pages]
        variable = io.BytesIO()
        document.write_pdf(variable, pdf_variant=PDF_VARIANT)
        results: list[LayeredLetter | None] = []
        with pikepdf.open(io.BytesIO(variable.getvalue())) as source:
            share_resources(document=source, covers=self.covers, colour=self.colour)
            for index, fit in enumerate(fits):
                part = variable_part(document=source, index=index) if fit else None
                results.append(part and LayeredLetter(pdf=part, pages=1, method="layered", layer=self.shared))
        return results

    def render(self, content: LetterContent) -> LayeredLetter | None:
        """One letter as static + variable layer, or None when a field does not fit its slot."""
        return self.render_many([content])[0]

    def render_full(self, content: LetterContent) -> LayeredLetter:
        document = self._document(self.html(content, layer="full"))
        if len(document.pages) != 1:
            raise LetterRenderError(f"{len(document.pages)} Seiten statt einer")
        out = io.BytesIO()
        document.write_pdf(out, pdf_variant=PDF_VARIANT)
        return LayeredLetter(pdf=out.getvalue(), pages=1, method="full")


_local = threading.local()


def _layers() -> dict:
    if getattr(_local, "layers", None) is None:
        _local.layers = {}
    return _local.layers


def static_layer(*, template: str, language: str, case_title: str) -> StaticLayer:
    """This thread's static layer for the template, language and case (laid out on first use, then reused)."""
    key = (template, language, case_title, settings.INSURER, settings.PORTAL_PUBLIC_URL)
    layers = _layers()
    if key not in layers:
        if len(layers) >= 16:  # a long-running worker serves many campaigns: keep the newest few
            layers.pop(next(iter(layers)))
        layers[key] = StaticLayer(renderer=renderer(), template=template, language=language, case_title=case_title)
    return layers[key]


def render_campaign_letters(*, contents: list[LetterContent], template: str) -> list[LayeredLetter]:
    """Campaign letters in order: layered where every field fits its slot, else the full render.

    Letters of one language share one static layer and one variable document. Errors name no content.
    """
    failure = None
    results: list[LayeredLetter | None] = [None] * len(contents)
    try:
        groups: dict[tuple[str, str], list[int]] = {}
        for index, content in enumerate(contents):
            groups.setdefault((content.language, content.case_title), []).append(index)
        for (language, case_title), indexes in groups.items():
            layer = static_layer(template=template, language=language, case_title=case_title)
            for index, letter in zip(indexes, layer.render_many([contents[i] for i in indexes]), strict=True):
                results[index] = letter or layer.render_full(contents[index])
    except LetterRenderError as error:
        failure = str(error)
    except Exception as error:  # any failure: its text may quote the PIN
        failure = type(error).__name__
    if failure is not None:
        raise LetterRenderError(f"Brief konnte nicht gesetzt werden ({failure})")
    return results


def render_campaign_letter(*, content: LetterContent, template: str) -> LayeredLetter:
    """One campaign letter (see render_campaign_letters)."""
    return render_campaign_letters(contents=[content], template=template)[0]
