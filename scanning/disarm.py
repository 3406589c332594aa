"""Content disarm: PDFs rewritten without anything that can act, images re-encoded so only pixels survive."""

import warnings
from collections.abc import Iterator
from typing import IO

import pi_heif
import pikepdf
from pikepdf import Array, Dictionary, ObjectStreamMode
from pikepdf.sanitize import Sanitizer
from PIL import Image, ImageOps

pi_heif.register_heif_opener()


class DisarmFailed(Exception):
    """The file cannot be read well enough to be rewritten safely."""


class ImageTooLarge(DisarmFailed):
    """Decoding the image would need more memory than the budget allows."""

    def __init__(self, width: int, height: int):
        super().__init__(f"{width}x{height}")
        self.width, self.height = width, height


# --- PDF ------------------------------------------------------------------------------------------------------

# Actions that run code, reach outside the document, send data, or play media.
ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/URI",
        "/Rendition", "/Movie", "/Sound", "/RichMediaExecute", "/Hide", "/SetOCGState", "/ResetForm",
    }
)  # fmt: skip
# Keys that hold active content or embedded files wherever they appear.
ACTIVE_KEYS = ("/AA", "/JS", "/EmbeddedFiles", "/RichMediaContent", "/RichMediaSettings", "/XFA", "/AF")
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


def pdf_disarm(src: IO[bytes], out: IO[bytes]) -> None:
    """Rewrite the PDF into `out` without scripts, actions, attachments, media or XFA; text and fonts stay."""
    try:
        with pikepdf.open(src) as pdf:
            if pdf.is_encrypted:
                raise DisarmFailed("encrypted")
            Sanitizer().remove_javascript().remove_external_access().remove_attachments().remove_multimedia().apply(pdf)
            _strip(pdf)
            pdf.remove_unreferenced_resources()
            # Only objects reachable from the trailer are written: dropped attachments are gone for good.
            pdf.save(out, object_stream_mode=ObjectStreamMode.generate, deterministic_id=True)
    except DisarmFailed:
        raise
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


def _open(src: IO[bytes]) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow's bomb warning fires at open; our memory budget is checked right after.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(src)


def _fit_budget(image: Image.Image, budget: int) -> None:
    """Shrink a JPEG while decoding (its DCT scales by 1/2, 1/4, 1/8 for free) or refuse what does not fit."""
    if image_decode_cost(image) <= budget:
        return
    if image.format == "JPEG":
        width, height = image.size
        for scale in (2, 4, 8):
            if image_decode_cost(image) // (scale * scale) <= budget:
                image.draft("RGB" if image.mode != "L" else "L", (width // scale, height // scale))
                if image_decode_cost(image) <= budget:
                    return
                break
    raise ImageTooLarge(*image.size)


def image_check(src: IO[bytes], *, budget: int) -> tuple[int, int]:
    """Read only the header: the image's size, or ImageTooLarge when even a shrunk decode breaks the budget."""
    try:
        with _open(src) as image:
            size = image.size
            _fit_budget(image, budget)
    except DisarmFailed:
        raise
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise DisarmFailed(type(error).__name__) from error
    return size


def image_disarm(src: IO[bytes], out: IO[bytes], *, mime: str, budget: int) -> str:
    """Re-encode from pixels only (orientation applied first): no EXIF, XMP, IPTC, comments, ICC, text chunks or
    trailing bytes. PNG stays PNG; JPEG and HEIC become JPEG. Returns the MIME type written."""
    try:
        with _open(src) as image:
            _fit_budget(image, budget)
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
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
    except DisarmFailed:
        raise
    except (Image.UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise DisarmFailed(type(error).__name__) from error
