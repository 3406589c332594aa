"""Campaign letters stored as what differs: per letter its variable page, once per layer what all letters share.

A campaign letter is a static page (letterhead, body, footer: the same for every letter of a template, language
and case) under a page of variable fields. Embedded whole in each letter, the static page and the fonts made
a letter of about 40 KB. Here the parts are kept apart:

- the shared layer (one PDF, stored encrypted once per static layer, content-addressed by its SHA-256): the
  static page with its fonts and logo, the PDF/A declaration (XMP metadata, sRGB output intent), and the three
  fonts of the variable fields as subsets of a fixed repertoire (Latin, Latin-1, Latin Extended-A/B, general
  punctuation; glyph ids kept as in the font files, as WeasyPrint's own subsets keep them);
- per letter, the variable page alone: its content stream and resources, each font that the shared subset
  covers (same glyph ids, same widths, same text mapping) replaced by a reference by name; a font it does not
  cover (a name with a rare character) stays embedded in the letter.

`compose` puts them together into the complete letter (one valid PDF/A-2b page, the same page the letter had
when everything was embedded): the print shop and the call centre only ever see complete letters, and the print
batch (letters.pdfmerge) writes each object the letters share once.
"""

import hashlib
import io
import logging
import re
import threading
from dataclasses import dataclass, field

# pikepdf announces its logger bridge at INFO on import; nobody needs that line in every command's output.
logging.getLogger("pikepdf._core").setLevel(logging.WARNING)
import pikepdf  # noqa: E402

# A font of the variable page that the shared layer holds: << /PortalSharedFont /DejaVuSans >>.
SHARED_FONT = "/PortalSharedFont"
# The shared layer's catalogue entry with its fonts for variable pages, by the font's name without subset tag.
SHARED_FONTS = "/PortalSharedFonts"
# The shared layer's catalogue entry with the variable pages' colour spaces (WeasyPrint's sRGB profile, Lab).
SHARED_COLOUR = "/PortalSharedColorSpace"
# The static page's name in a composed letter's resources.
STATIC_PAGE = "/PortalStaticPage"
# Characters whose glyphs the shared fonts carry (every one the font has): names and streets of the insurer's
# members are written in these; another character keeps that letter's own font subset (correct, just larger).
REPERTOIRE = "".join(
    chr(code)
    for start, end in ((0x20, 0x7E), (0xA0, 0x24F), (0x2010, 0x2027), (0x2030, 0x203A), (0x20AC, 0x20AC))
    for code in range(start, end + 1)
)
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_PAIR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")


def save(pdf: pikepdf.Pdf) -> bytes:
    """The same objects give the same bytes: object streams, compressed, no random /ID."""
    out = io.BytesIO()
    pdf.save(
        out,
        deterministic_id=True,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
        compress_streams=True,
    )
    return out.getvalue()


def base_name(font: pikepdf.Dictionary) -> str:
    """The font's name without its subset tag: "ABCDEF+DejaVuSans" -> "DejaVuSans"."""
    return str(font.get("/BaseFont", "")).lstrip("/").split("+", 1)[-1]


def _widths(font: pikepdf.Dictionary) -> dict[int, float]:
    widths: dict[int, float] = {}
    items = list(font.DescendantFonts[0].get("/W", []))
    index = 0
    while index < len(items):
        first = int(items[index])
        if isinstance(items[index + 1], pikepdf.Array):
            for offset, width in enumerate(items[index + 1]):
                widths[first + offset] = float(width)
            index += 2
        else:
            for glyph in range(first, int(items[index + 1]) + 1):
                widths[glyph] = float(items[index + 2])
            index += 3
    return widths


def _to_unicode(font: pikepdf.Dictionary) -> dict[int, bytes]:
    if "/ToUnicode" not in font:
        return {}
    data = font.ToUnicode.read_bytes()
    return {int(glyph, 16): text for block in _BFCHAR.findall(data) for glyph, text in _PAIR.findall(block)}


@dataclass
class FontCover:
    """What a shared font carries: its glyphs' widths and their text."""

    widths: dict[int, float]
    text: dict[int, bytes]

    @classmethod
    def of(cls, font: pikepdf.Dictionary) -> "FontCover":
        return cls(widths=_widths(font), text=_to_unicode(font))

    def covers(self, font: pikepdf.Dictionary) -> bool:
        """True when every glyph of `font` is here with the same width and the same text: a page set in `font`
        looks and reads the same set in this one."""
        if font.get("/Subtype") != "/Type0" or font.get("/Encoding") != "/Identity-H":
            return False
        if font.DescendantFonts[0].get("/CIDToGIDMap") != "/Identity":
            return False
        widths = _widths(font)
        text = _to_unicode(font)
        return all(self.widths.get(glyph) == width for glyph, width in widths.items()) and all(
            self.text.get(glyph) == value for glyph, value in text.items()
        )


def fonts_of(pdf: pikepdf.Pdf) -> dict[str, pikepdf.Dictionary]:
    """The fonts of every page of `pdf`, by name without subset tag."""
    found = {}
    for page in pdf.pages:
        for font in page.Resources.get("/Font", {}).values():
            found.setdefault(base_name(font), font)
    return found


def _fingerprint(obj) -> bytes:
    """What an object says, whatever its object numbers and stream compression: equal objects, equal prints."""
    if isinstance(obj, pikepdf.Stream):
        keys = {k: v for k, v in obj.stream_dict.items() if k not in ("/Length", "/Filter", "/DecodeParms")}
        return b"S" + hashlib.sha256(obj.read_bytes()).digest() + _fingerprint(pikepdf.Dictionary(keys))
    if isinstance(obj, pikepdf.Dictionary):
        return b"D" + b"".join(key.encode() + _fingerprint(obj[key]) for key in sorted(obj.keys())) + b"E"
    if isinstance(obj, pikepdf.Array):
        return b"A" + b"".join(_fingerprint(item) for item in obj) + b"E"
    return obj.unparse() if isinstance(obj, pikepdf.Object) else repr(obj).encode()


def colour_spaces(pdf: pikepdf.Pdf) -> pikepdf.Object | None:
    """The colour spaces of the document's first page (WeasyPrint writes the same ones on every page)."""
    return pdf.pages[0].Resources.get("/ColorSpace")


def colour_fingerprint(pdf: pikepdf.Pdf) -> bytes | None:
    spaces = colour_spaces(pdf)
    return None if spaces is None else _fingerprint(spaces)


def shared_layer(*, static: pikepdf.Pdf, carrier: pikepdf.Pdf) -> bytes:
    """The shared layer's PDF: the static page, the PDF/A declaration, the carrier document's fonts and colour
    spaces."""
    with pikepdf.new() as pdf:
        pdf.pages.append(static.pages[0])
        pdf.Root.Metadata = pdf.copy_foreign(static.Root.Metadata)
        pdf.Root.OutputIntents = pdf.copy_foreign(static.make_indirect(static.Root.OutputIntents))
        fonts = pikepdf.Dictionary({f"/{name}": pdf.copy_foreign(font) for name, font in fonts_of(carrier).items()})
        pdf.Root[SHARED_FONTS] = pdf.make_indirect(fonts)
        spaces = colour_spaces(carrier)
        if spaces is not None:
            pdf.Root[SHARED_COLOUR] = pdf.copy_foreign(carrier.make_indirect(spaces))
        return save(pdf)


def share_resources(*, document: pikepdf.Pdf, covers: dict[str, FontCover], colour: bytes | None) -> None:
    """Replace each font of the variable document that a shared font covers by a reference to it, and its colour
    spaces by a reference to the shared ones when they are the same (`colour`: their fingerprint), in place."""
    replaced: dict[tuple[int, int], pikepdf.Object] = {}
    stub = document.make_indirect(pikepdf.Dictionary({SHARED_COLOUR: True}))
    for page in document.pages:
        spaces = page.Resources.get("/ColorSpace")
        if spaces is not None and colour is not None and _fingerprint(spaces) == colour:
            page.Resources.ColorSpace = stub
        fonts = page.Resources.get("/Font")
        if fonts is None:
            continue
        for key in list(fonts.keys()):
            font = fonts[key]
            if font.objgen in replaced:
                fonts[key] = replaced[font.objgen]
                continue
            cover = covers.get(base_name(font))
            if cover is not None and cover.covers(font):
                stub = document.make_indirect(pikepdf.Dictionary({SHARED_FONT: pikepdf.Name(f"/{base_name(font)}")}))
                replaced[font.objgen] = stub
                fonts[key] = stub


def variable_part(*, document: pikepdf.Pdf, index: int) -> bytes:
    """One page of the variable document as a PDF of its own (what is stored per letter)."""
    with pikepdf.new() as pdf:
        pdf.pages.append(document.pages[index])
        return save(pdf)


class OpenLayer:
    """A shared layer opened for composing: its static page as a form XObject, its fonts."""

    def __init__(self, data: bytes) -> None:
        self.pdf = pikepdf.open(io.BytesIO(data))
        self.xobject = self.pdf.pages[0].as_form_xobject()
        self.fonts = self.pdf.Root[SHARED_FONTS]
        self.colour = self.pdf.Root.get(SHARED_COLOUR)


@dataclass(frozen=True)
class SharedLayer:
    """A shared layer's PDF and its SHA-256 (its name in the storage)."""

    pdf: bytes = field(repr=False)
    digest: str = ""

    @classmethod
    def of(cls, pdf: bytes) -> "SharedLayer":
        return cls(pdf=pdf, digest=hashlib.sha256(pdf).hexdigest())


_local = threading.local()


def opened(layer: SharedLayer) -> OpenLayer:
    """This thread's opened copy of the layer (a few kept: a print batch uses one or two)."""
    cache = getattr(_local, "layers", None)
    if cache is None:
        cache = _local.layers = {}
    if layer.digest not in cache:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[layer.digest] = OpenLayer(layer.pdf)
    return cache[layer.digest]


def compose(*, variable: bytes, layer: SharedLayer) -> bytes:
    """The complete letter: the variable page over the static page, with the shared fonts and PDF/A declaration."""
    shared = opened(layer)
    with pikepdf.open(io.BytesIO(variable)) as pdf:
        page = pdf.pages[0]
        if SHARED_COLOUR in page.Resources.get("/ColorSpace", {}):
            page.Resources.ColorSpace = pdf.copy_foreign(shared.colour)
        fonts = page.Resources.get("/Font", {})
        for key in list(fonts.keys()):
            name = fonts[key].get(SHARED_FONT)
            if name is not None:
                fonts[key] = pdf.copy_foreign(shared.fonts[name])
        pdf.Root.Metadata = pdf.copy_foreign(shared.pdf.Root.Metadata)
        pdf.Root.OutputIntents = pdf.copy_foreign(shared.pdf.Root.OutputIntents)
        # The static page under the fields (as pikepdf's add_underlay, but under a fixed name: the same letter
        # gives the same bytes, and the print batch finds this stream the same in every letter).
        if "/XObject" not in page.Resources:
            page.Resources.XObject = pikepdf.Dictionary()
        page.Resources.XObject[STATIC_PAGE] = pdf.copy_foreign(shared.xobject)
        page.contents_add(pdf.make_stream(b"q\n" + STATIC_PAGE.encode() + b" Do\nQ\n"), prepend=True)
        return save(pdf)
