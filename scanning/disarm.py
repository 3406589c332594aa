"""Content disarm: PDFs rewritten without anything that can act, images re-encoded so only pixels survive."""

import base64
import contextlib
import math
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import pi_heif
import pikepdf
from pikepdf import Array, Dictionary, Name, ObjectStreamMode, StreamDecodeLevel
from pikepdf.sanitize import Sanitizer
from PIL import Image, ImageOps

pi_heif.register_heif_opener()


def warm_up() -> None:
    """Import what the first image or PDF would import on first use (a fork server does it once for its children):
    Pillow's common plugins."""
    Image.preinit()


class DisarmFailed(Exception):
    """The file cannot be read well enough to be rewritten safely."""


class TooComplex(DisarmFailed):
    """Decoding the file would take more memory or time than its budget: refused, never retried."""


class ActiveContentLeft(DisarmFailed):
    """The rewritten copy still carries something that can act (the check after the rewrite found it)."""


class ImageTooLarge(DisarmFailed):
    """Decoding the image would need more memory than the budget allows."""

    def __init__(self, width: int, height: int):
        super().__init__(f"{width}x{height}")
        self.width, self.height = width, height


# --- PDF stream budget ----------------------------------------------------------------------------------------

# Output is produced and counted in pieces of this size: a bomb is stopped one piece past its budget.
PIECE = 256 * 1024


@dataclass
class DecodeBudget:
    """How many bytes the filters of one PDF may produce in all, counted while they decode.

    `total` is the absolute ceiling; `ratio` times the file's size (but at least `floor`) is the ceiling for a
    given file, so a 1 MB file cannot expand to the ceiling a 20 MB scan may need.
    """

    total: int = 512 * 2**20
    ratio: int = 100
    floor: int = 32 * 2**20
    used: int = 0
    limit: int = 0

    def start(self, size: int) -> "DecodeBudget":
        self.used, self.limit = 0, min(self.total, max(self.floor, self.ratio * size))
        return self

    def take(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise TooComplex(f"decoded more than {self.limit} bytes")


def _counted(pieces: Iterable[bytes], budget: DecodeBudget) -> Iterator[bytes]:
    for piece in pieces:
        budget.take(len(piece))
        yield piece


def _flate(pieces: Iterable[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj()
    try:
        for data in pieces:
            while data and not inflater.eof:
                out = inflater.decompress(data, PIECE)
                data = inflater.unconsumed_tail
                if out:
                    yield out
            if inflater.eof:
                return
        tail = inflater.flush()
        if tail:
            yield tail
    except zlib.error:
        return  # like qpdf: what was inflated before the damage is the stream (and that is what we write)


def _lzw(pieces: Iterable[bytes], early: int = 1) -> Iterator[bytes]:
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    width, acc, nbits, previous = 9, 0, 0, b""
    out = bytearray()
    for data in pieces:
        for value in data:
            acc = (acc << 8) | value
            nbits += 8
            while nbits >= width:
                nbits -= width
                code = (acc >> nbits) & ((1 << width) - 1)
                acc &= (1 << nbits) - 1
                if code == 256:
                    del table[258:]
                    width, previous = 9, b""
                    continue
                if code == 257:
                    yield bytes(out)
                    return
                if code < len(table) and code != 256 and code != 257:
                    entry = table[code]
                    if previous:
                        table.append(previous + entry[:1])
                elif code == len(table) and previous:
                    entry = previous + previous[:1]
                    table.append(entry)
                else:
                    raise DisarmFailed("lzw code")
                if len(table) > 4096:
                    raise DisarmFailed("lzw table")
                if len(table) + early >= 1 << width and width < 12:
                    width += 1
                previous = entry
                out += entry
                if len(out) >= PIECE:
                    yield bytes(out)
                    out.clear()
    if out:
        yield bytes(out)


def _run_length(pieces: Iterable[bytes]) -> Iterator[bytes]:
    data = b"".join(pieces)  # the encoded form: never more than the stream's raw size
    out = bytearray()
    at = 0
    while at < len(data):
        length = data[at]
        if length == 128:
            break
        if length < 128:
            out += data[at + 1 : at + 2 + length]
            at += 2 + length
        else:
            out += data[at + 1 : at + 2] * (257 - length)
            at += 2
        if len(out) >= PIECE:
            yield bytes(out)
            out.clear()
    if out:
        yield bytes(out)


def _ascii85(pieces: Iterable[bytes], budget: DecodeBudget) -> Iterator[bytes]:
    data = b"".join(pieces)
    data = data.split(b"~>", 1)[0].removeprefix(b"<~")
    # Each "z" gives 4 bytes, each other 5 characters give 4: the size is known before decoding.
    if data.count(b"z") * 4 + len(data) * 4 // 5 > budget.limit - budget.used:
        raise TooComplex("ascii85")
    try:
        yield base64.a85decode(b"".join(data.split()))
    except ValueError as error:
        raise DisarmFailed("ascii85") from error


def _ascii_hex(pieces: Iterable[bytes]) -> Iterator[bytes]:
    data = b"".join(b"".join(pieces).split(b">", 1)[0].split())
    if len(data) % 2:
        data += b"0"
    try:
        yield bytes.fromhex(data.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as error:
        raise DisarmFailed("asciihex") from error


# Filters that only compress or encode: decoded by us, under the budget. Abbreviations are those of inline images.
GENERIC_FILTERS = {
    "/FlateDecode": "flate", "/Fl": "flate", "/LZWDecode": "lzw", "/LZW": "lzw",
    "/RunLengthDecode": "rl", "/RL": "rl", "/ASCII85Decode": "a85", "/A85": "a85",
    "/ASCIIHexDecode": "ahx", "/AHx": "ahx",
}  # fmt: skip
# Image codecs: their data is kept as it is (clamd sees those bytes); only as the last filter of a chain.
IMAGE_FILTERS = frozenset({"/DCTDecode", "/DCT", "/JPXDecode", "/CCITTFaxDecode", "/CCF", "/JBIG2Decode"})
SKIPPED_TYPES = frozenset({"/ObjStm", "/XRef"})  # read by qpdf while opening; never written as they are


def _as_list(value) -> list:
    if value is None:
        return []
    if isinstance(value, Array):
        return list(value)
    return [value]


def _decoded(raw: bytes, filters: list[str], parms: list, budget: DecodeBudget) -> Iterator[bytes]:
    pieces: Iterable[bytes] = [raw[i : i + PIECE] for i in range(0, len(raw), PIECE)] or [b""]
    for name, parm in zip(filters, parms, strict=True):
        kind = GENERIC_FILTERS[name]
        if kind == "flate":
            pieces = _flate(pieces)
        elif kind == "lzw":
            early = parm.get("/EarlyChange", 1) if isinstance(parm, Dictionary) else 1
            pieces = _lzw(pieces, early=int(early))
        elif kind == "rl":
            pieces = _run_length(pieces)
        elif kind == "a85":
            pieces = _ascii85(pieces, budget)
        else:
            pieces = _ascii_hex(pieces)
        pieces = _counted(pieces, budget)
    return iter(pieces)


def _predictor(parm) -> bool:
    return isinstance(parm, Dictionary) and int(parm.get("/Predictor", 1)) > 1


def _normalise_stream(stream: pikepdf.Stream, budget: DecodeBudget) -> None:
    """Decode the stream's compression and encodings under the budget, then store it as Flate (or, before an image
    codec, as that codec's data alone): only filters clamd decodes are left in the copy."""
    filters = [str(name) for name in _as_list(stream.get("/Filter"))]
    if not filters:
        return
    parms = _as_list(stream.get("/DecodeParms")) or [None] * len(filters)
    if len(parms) != len(filters) or any(name not in GENERIC_FILTERS and name not in IMAGE_FILTERS for name in filters):
        raise DisarmFailed("stream filters")
    image = filters[-1] if filters[-1] in IMAGE_FILTERS else None
    generic, generic_parms = (filters[:-1], parms[:-1]) if image else (filters, parms)
    if any(name in IMAGE_FILTERS for name in generic):
        raise DisarmFailed("image codec inside a filter chain")
    if not generic:
        return
    packer = zlib.compressobj(6)
    packed = [packer.compress(piece) for piece in _decoded(stream.read_raw_bytes(), generic, generic_parms, budget)]
    if any(map(_predictor, generic_parms)):
        if image:
            raise DisarmFailed("predictor before an image codec")
        # The decoded size is known to fit the budget now: qpdf undoes the predictor (its output is smaller).
        packer = zlib.compressobj(6)
        packed = [packer.compress(stream.read_bytes(StreamDecodeLevel.specialized))]
    packed.append(packer.flush())
    data = b"".join(packed)
    if "/DL" in stream:
        del stream["/DL"]
    if image:
        stream.write(zlib.decompress(data), filter=Name(image), decode_parms=parms[-1] if parms[-1] else None)
    else:
        stream.write(data, filter=Name.FlateDecode)


def _normalise_streams(pdf: pikepdf.Pdf, budget: DecodeBudget) -> None:
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and str(obj.get("/Type", "")) not in SKIPPED_TYPES:
            _normalise_stream(obj, budget)


# --- PDF ------------------------------------------------------------------------------------------------------

# Actions that run code, reach outside the document, send data, or play media.
ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/URI",
        "/Rendition", "/Movie", "/Sound", "/RichMediaExecute", "/Hide", "/SetOCGState", "/ResetForm",
    }
)  # fmt: skip
# Keys that hold active content or embedded files wherever they appear.
ACTIVE_KEYS = ("/AA", "/JS", "/EmbeddedFiles", "/EF", "/RichMediaContent", "/RichMediaSettings", "/XFA", "/AF")
ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"})


def _is_active_action(obj) -> bool:
    return isinstance(obj, Dictionary) and str(obj.get("/S", "")) in ACTIVE_ACTIONS


def _walk(obj, seen: set) -> Iterator[Dictionary]:
    """Every dictionary (and stream dictionary) reachable inside obj, each once."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, pikepdf.Stream):
            item = item.stream_dict
        if isinstance(item, Dictionary | Array) and item.is_indirect:
            key = item.objgen
            if key in seen:
                continue
            seen.add(key)
        if isinstance(item, Dictionary):
            yield item
            stack.extend(item.values())
        elif isinstance(item, Array):
            stack.extend(item)


def _strip(pdf: pikepdf.Pdf) -> None:
    """What pikepdf.sanitize leaves on purpose (XFA, /OpenAction, /AA) and a second net over every object."""
    root = pdf.Root
    for key in ("/OpenAction", "/AA", "/Collection", "/NeedsRendering"):
        if key in root:
            del root[key]
    names = root.get("/Names")
    if isinstance(names, Dictionary):
        for key in ("/JavaScript", "/EmbeddedFiles"):
            if key in names:
                del names[key]
    for page in pdf.pages:
        annots = page.obj.get("/Annots")
        if isinstance(annots, Array):
            kept = [a for a in annots if str(a.get("/Subtype", "")) not in ACTIVE_ANNOTATIONS]
            if len(kept) != len(annots):
                page.obj.Annots = Array(kept)
    seen: set = set()
    for holder in _walk(pdf.trailer, seen):
        for key in ACTIVE_KEYS:
            if key in holder:
                del holder[key]
        for key in ("/A", "/Next", "/PA"):
            value = holder.get(key)
            if _is_active_action(value) or (isinstance(value, Array) and any(map(_is_active_action, value))):
                del holder[key]


def pdf_active_content(pdf: pikepdf.Pdf) -> list[str]:
    """What in the PDF could still act (for tests and checks): names of the keys and actions found."""
    found = []
    root = pdf.Root
    if "/OpenAction" in root:
        found.append("/OpenAction")
    names = root.get("/Names")
    if isinstance(names, Dictionary):
        found.extend(key for key in ("/JavaScript", "/EmbeddedFiles") if key in names)
    for holder in _walk(pdf.trailer, set()):
        found.extend(key for key in ACTIVE_KEYS if key in holder)
        if _is_active_action(holder):
            found.append(str(holder["/S"]))
        if str(holder.get("/Subtype", "")) in ACTIVE_ANNOTATIONS:
            found.append(str(holder["/Subtype"]))
        if str(holder.get("/Type", "")) == "/EmbeddedFile":
            found.append("/EmbeddedFile")
    return found


def _children(item) -> list:
    return list(item.values()) if isinstance(item, Dictionary) else list(item)


def pdf_strings(pdf: pikepdf.Pdf) -> Iterator[bytes]:
    """The value of every string object in the PDF, decoded (a PDF writes them escaped or as hex, which hides
    them from a byte scan): for the scan of what is delivered."""
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.String):
            yield bytes(obj)
            continue
        if not isinstance(obj, Dictionary | Array | pikepdf.Stream):
            continue
        stack = _children(obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj)
        while stack:
            item = stack.pop()
            if isinstance(item, pikepdf.String):
                yield bytes(item)
            elif isinstance(item, Dictionary | Array) and not item.is_indirect:
                stack.extend(_children(item))


def _content_streams(pdf: pikepdf.Pdf) -> Iterator[tuple[object, bytes]]:
    """Each page and form XObject with its decoded content (streams are Flate here, already within budget)."""
    for page in pdf.pages:
        contents = page.obj.get("/Contents")
        streams = contents if isinstance(contents, Array) else [contents] if contents is not None else []
        yield page, b"\n".join(stream.read_bytes() for stream in streams if isinstance(stream, pikepdf.Stream))
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and str(obj.get("/Subtype", "")) == "/Form":
            yield obj, obj.read_bytes()


def pdf_inline_images(pdf: pikepdf.Pdf, budget: DecodeBudget) -> Iterator[bytes]:
    """The decoded data of every inline image (BI ... ID ... EI) in the PDF's content: it lives inside a content
    stream under filters of its own, which a scan of the content stream does not decode."""
    for holder, content in _content_streams(pdf):
        if b"BI" not in content or b"ID" not in content:
            continue  # no inline image: spare the parse
        for instruction in pikepdf.parse_content_stream(holder):
            if not isinstance(instruction, pikepdf.ContentStreamInlineImage):
                continue
            image = instruction.iimage
            filters = [str(name) for name in image.filters]
            generic = [name for name in filters if name in GENERIC_FILTERS]
            if any(name not in GENERIC_FILTERS and name not in IMAGE_FILTERS for name in filters):
                raise DisarmFailed("inline image filters")
            raw = image.read_raw_bytes()
            yield raw
            if generic and generic == filters[: len(generic)]:
                yield b"".join(_decoded(raw, generic, [None] * len(generic), budget))


def pdf_verify(src: IO[bytes]) -> None:
    """Open the rewritten copy afresh and refuse it if anything that can act is still in it (fail closed)."""
    try:
        with pikepdf.open(src) as pdf:
            left = pdf_active_content(pdf)
    except pikepdf.PdfError as error:
        raise DisarmFailed("rewritten copy unreadable") from error
    if left:
        raise ActiveContentLeft(", ".join(sorted(set(left))))


def pdf_hidden_data(src: IO[bytes], strings: IO[bytes], *, budget: DecodeBudget) -> None:
    """Write to `strings`, for the scan of what is delivered, the decoded value of every string in the PDF and the
    decoded data of every inline image, one a line (a scan of the PDF's bytes does not see them decoded)."""
    with pikepdf.open(src) as copy:
        for value in pdf_strings(copy):
            strings.write(value + b"\n")
        for data in pdf_inline_images(copy, budget):
            strings.write(data + b"\n")


def pdf_disarm(
    src: IO[bytes], out: IO[bytes], *, budget: DecodeBudget | None = None, strings: IO[bytes] | None = None
) -> None:
    """Rewrite the PDF into `out` without scripts, actions, attachments, media or XFA; text and fonts stay.

    Every stream is decoded under `budget` and stored as Flate first (before anything else decodes it), so the
    scan of the copy reads every stream and no stream costs more than its share. The copy is then checked again;
    `strings` receives, for the scan, the decoded value of every string in it and the decoded data of every
    inline image (both hidden from a scan of the copy's bytes).
    """
    budget = (budget or DecodeBudget()).start(src.seek(0, 2))
    src.seek(0)
    try:
        with pikepdf.open(src) as pdf:
            if pdf.is_encrypted:
                raise DisarmFailed("encrypted")
            _normalise_streams(pdf, budget)
            Sanitizer().remove_javascript().remove_external_access().remove_attachments().remove_multimedia().apply(pdf)
            _strip(pdf)
            pdf.remove_unreferenced_resources()
            # Only objects reachable from the trailer are written: dropped attachments are gone for good. No object
            # streams: every object is plain in the copy; the streams stay as normalised above.
            pdf.save(
                out,
                object_stream_mode=ObjectStreamMode.disable,
                stream_decode_level=StreamDecodeLevel.none,
                deterministic_id=True,
            )
        out.seek(0)
        pdf_verify(out)
        if strings is not None:
            out.seek(0)
            pdf_hidden_data(out, strings, budget=budget)
    except DisarmFailed:
        raise
    except MemoryError as error:
        raise TooComplex("memory") from error
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, RuntimeError) as error:
        raise DisarmFailed(type(error).__name__) from error


# --- Images ---------------------------------------------------------------------------------------------------

# Pillow keeps these modes in one byte per pixel (and "I;16" in two); every other mode in four.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}
# Decoding holds the pixels once; turning them upright or converting them holds a second copy for a moment.
COPIES = 2


def image_decode_cost(image: Image.Image) -> int:
    """Bytes of memory decoding and re-encoding this image takes at most (from the header, before decoding)."""
    width, height = image.size
    return width * height * _BYTES_PER_PIXEL.get(image.mode, 4) * COPIES


def _header_size(src: IO[bytes]) -> tuple[int, int]:
    """The declared size of an image Pillow refused to open as a decompression bomb (its plugins read only the
    header; Image.open adds the bomb check after them)."""
    Image.init()
    src.seek(0)
    prefix = src.read(16)
    for name in Image.ID:
        factory, accept = Image.OPEN[name]
        if accept and not accept(prefix):
            continue
        src.seek(0)
        try:
            with factory(src, None) as image:
                return image.size
        except (OSError, SyntaxError, ValueError, TypeError, IndexError, KeyError, EOFError):
            continue
    raise DisarmFailed("unidentified")


def _open(src: IO[bytes]) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow's bomb warning fires at open; our memory budget is checked right after.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(src)
        except Image.DecompressionBombError:
            # A pixel flood (more than twice Pillow's pixel limit): too many pixels, not a damaged file.
            raise ImageTooLarge(*_header_size(src)) from None


def _jpeg_scans(image: Image.Image) -> int:
    """How many scans (SOS markers) the JPEG has; a marker cannot occur inside entropy-coded data."""
    src = image.fp
    at = src.tell()
    src.seek(0)
    count, last = 0, b""
    while chunk := src.read(PIECE):
        count += (last + chunk).count(b"\xff\xda")
        last = chunk[-1:]
    src.seek(at)
    return count


def jpeg_coefficient_cost(image: Image.Image) -> int:
    """Bytes libjpeg holds for the whole image's DCT coefficients while it decodes a progressive (or any
    multi-scan) JPEG: 64 coefficients of 2 bytes per 8x8 block of every component, whatever size it is drafted
    to. Zero for a single-scan baseline JPEG, which is decoded one row of blocks at a time."""
    if image.format != "JPEG" or not getattr(image, "layer", None):
        return 0
    if not (image.info.get("progressive") or image.info.get("progression")) and _jpeg_scans(image) <= 1:
        return 0
    width, height = image.size
    h_max = max(layer[1] for layer in image.layer)
    v_max = max(layer[2] for layer in image.layer)
    blocks = 0
    for _id, h, v, _table in image.layer:
        blocks += math.ceil(math.ceil(width * h / h_max) / 8) * math.ceil(math.ceil(height * v / v_max) / 8)
    return blocks * 64 * 2


# The re-encoded copy of a photo keeps a long edge of at least this many pixels (smaller images stay as they are):
# an A4 page across 2,000 px is 171 dpi, above the 150 dpi at which a case worker reads print down to 6 pt. A
# larger photo is shrunk only by halving (a JPEG by the DCT scaling of its decoder, which decodes at 1/2, 1/4 or
# 1/8 at a fraction of the cost; others by a 2x2 box): no resampling pass, and a 12 MP phone photo (4032 x 3024)
# becomes 2016 x 1512, a quarter of the pixels to re-encode and to scan again. docs/scanning.md has the figures.
PHOTO_MIN_LONG_EDGE = 2000
# Modes a 2x2 box reduce keeps as they are (a bilevel or palette image would gain colours it does not have).
_REDUCIBLE = frozenset({"L", "LA", "RGB", "RGBA"})


def _halvings(size: tuple[int, int], min_long_edge: int | None) -> int:
    """The largest scale of 1, 2, 4, 8 that leaves the long edge at least `min_long_edge` (1 without a minimum)."""
    if not min_long_edge:
        return 1
    return max(scale for scale in (1, 2, 4, 8) if scale == 1 or max(size) // scale >= min_long_edge)


def _fit_budget(image: Image.Image, budget: int, *, min_long_edge: int | None = None) -> int:
    """Shrink a JPEG while decoding (its DCT scales by 1/2, 1/4, 1/8 for free) or refuse what does not fit.

    With `min_long_edge` a JPEG is also decoded at the smallest of those scales that keeps its long edge at least
    that long. Returns the factor still to shrink by after decoding (a power of two; 1 for a JPEG, whose decoder
    did it). A progressive JPEG's coefficient buffers do not shrink with the draft: they count in full at every
    scale.
    """
    fixed = jpeg_coefficient_cost(image)
    wanted = _halvings(image.size, min_long_edge)
    if image.format != "JPEG":
        if fixed + image_decode_cost(image) <= budget:
            return wanted if image.mode in _REDUCIBLE else 1
        raise ImageTooLarge(*image.size)
    width, height = image.size
    scale = wanted
    if fixed + image_decode_cost(image) // (scale * scale) > budget:
        if fixed >= budget:
            raise ImageTooLarge(*image.size)
        fitting = [s for s in (2, 4, 8) if s > scale and fixed + image_decode_cost(image) // (s * s) <= budget]
        if not fitting:
            raise ImageTooLarge(*image.size)
        scale = fitting[0]
    if scale > 1:
        image.draft("RGB" if image.mode != "L" else "L", (width // scale, height // scale))
    if fixed + image_decode_cost(image) > budget:
        raise ImageTooLarge(width, height)
    return 1


@contextlib.contextmanager
def _image_errors() -> Iterator[None]:
    """What decoding an image raises, as the disarm's refusals: out of memory is too complex, a damaged or
    unknown file is unreadable (named by its class only: a parser's message can quote the file's bytes)."""
    try:
        yield
    except DisarmFailed:
        raise
    except MemoryError as error:
        raise TooComplex("memory") from error
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise DisarmFailed(type(error).__name__) from error


def image_check(src: IO[bytes], *, budget: int) -> tuple[int, int]:
    """Read only the header: the image's size, or ImageTooLarge when even a shrunk decode breaks the budget."""
    with _image_errors(), _open(src) as image:
        size = image.size
        _fit_budget(image, budget)
    return size


def image_disarm(
    src: IO[bytes], out: IO[bytes], *, mime: str, budget: int, min_long_edge: int | None = PHOTO_MIN_LONG_EDGE
) -> str:
    """Re-encode from pixels only (orientation applied first): no EXIF, XMP, IPTC, comments, ICC, text chunks or
    trailing bytes. PNG stays PNG; JPEG and HEIC become JPEG. Returns the MIME type written.

    An image larger than twice `min_long_edge` is halved (once or more) while its long edge stays at least that
    long (PHOTO_MIN_LONG_EDGE; None keeps every pixel)."""
    with _image_errors(), _open(src) as image:
        reduce = _fit_budget(image, budget, min_long_edge=min_long_edge)
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        if reduce > 1:
            image = image.reduce(reduce)  # a new image: nothing of the file's info comes with it
        transparency = image.info.get("transparency") if mime == "image/png" else None
        # Pillow's savers copy the JPEG comment and the ICC profile from im.info; nothing may survive.
        image.info.clear()
        image.encoderinfo = {}
        if mime == "image/png":
            extra = {"transparency": transparency} if transparency is not None else {}
            image.save(out, format="PNG", optimize=False, exif=b"", icc_profile=None, pnginfo=None, **extra)
            return "image/png"
        pixels = image if image.mode in ("RGB", "L") else image.convert("RGB")
        pixels.info.clear()
        pixels.save(out, format="JPEG", quality=90, exif=b"", icc_profile=None, comment=b"")
        return "image/jpeg"
