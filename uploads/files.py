"""Checking uploaded files in the request: safe names, type by content, PDF and image checks (from the header)."""

import logging
import unicodedata
from typing import IO

import magic
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from scanning.disarm import DisarmFailed, ImageTooLarge, image_check

from .constants import ALLOWED_TYPES, KNOWN_EXTENSIONS
from .exceptions import InvalidFile, UnsupportedType

logger = logging.getLogger(__name__)

# python-magic needs this many leading bytes to tell our types apart reliably.
SNIFF_BYTES = 4096
MAX_NAME_LENGTH = 120
_RESERVED = set('<>:"/\\|?*')

ALLOWED_TYPES_MESSAGE = _("Erlaubt sind nur PDF-Dokumente und Fotos als JPEG, PNG oder HEIC.")
# What a member can do when the content is none of those, whatever the file's name says.
WRONG_CONTENT_MESSAGE = _(
    "Der Inhalt dieser Datei ist kein PDF-Dokument und kein Foto (JPEG, PNG oder HEIC), auch wenn der Name so "
    "endet. Bitte wählen Sie "
    "die richtige Datei aus: Speichern Sie das Dokument als PDF (zum Beispiel über „Drucken“ und „Als PDF "
    "speichern“) oder fotografieren Sie das Papier mit dem Handy und laden Sie das Foto hoch."
)


def name_sanitize(name: str) -> str:
    """A file name safe to show and to send in a header: no path, no control characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        "_" if char in _RESERVED else char for char in name if not unicodedata.category(char).startswith("C")
    )
    name = " ".join(name.split()).strip(" .")
    if not name:
        return str(_("Dokument"))
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 10 or not stem:
        stem, ext = name, ""
    room = MAX_NAME_LENGTH - (len(ext) + 1 if ext else 0)
    stem = stem[:room].rstrip(" .") or str(_("Dokument"))
    return f"{stem}.{ext}" if ext else stem


def name_with_extension(name: str, extension: str) -> str:
    """The name with the extension of the stored type (photo.heic becomes photo.jpg)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or ext.lower() not in KNOWN_EXTENSIONS:
        stem = name
    return name_sanitize(f"{stem}.{extension}")


def type_detect(*, head: bytes, name: str) -> str:
    """The MIME type by content; refuses other types and a known extension that does not fit the content."""
    mime = magic.from_buffer(head, mime=True)
    if mime not in ALLOWED_TYPES:
        raise UnsupportedType(WRONG_CONTENT_MESSAGE)
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    if ext in KNOWN_EXTENSIONS and ext not in ALLOWED_TYPES[mime][1]:
        raise UnsupportedType(
            _("Die Dateiendung passt nicht zum Inhalt der Datei. %(allowed)s") % {"allowed": ALLOWED_TYPES_MESSAGE}
        )
    return mime


def _check_pdf(src: IO[bytes]) -> None:
    from pypdf import PdfReader  # about 0.1 s to import: loaded by the process that checks a PDF, not by every one

    try:
        reader = PdfReader(src, strict=False)
        encrypted = reader.is_encrypted
        if not encrypted and len(reader.pages) < 1:
            raise ValueError("no pages")
    except Exception as error:
        # pypdf raises many kinds of errors on damaged input; all mean the same to the member.
        raise InvalidFile(
            _("Die PDF-Datei ist beschädigt oder unvollständig und kann nicht gelesen werden.")
        ) from error
    if encrypted:
        raise InvalidFile(
            _(
                "Die PDF-Datei ist verschlüsselt oder mit einem Kennwort geschützt. Bitte laden Sie sie ohne Schutz hoch."
            )
        )


def _check_image(src: IO[bytes]) -> None:
    """From the header only: an image whose decoding would break the memory budget is refused now."""
    budget = settings.UPLOAD_IMAGE_MEMORY_BUDGET
    try:
        image_check(src, budget=budget)
    except ImageTooLarge as error:
        raise InvalidFile(
            _(
                "Das Bild hat zu viele Bildpunkte (%(width)s x %(height)s). Bitte laden Sie ein kleineres Bild hoch, "
                "zum Beispiel ein Foto mit höchstens %(megapixels)s Megapixeln."
            )
            % {"width": error.width, "height": error.height, "megapixels": budget // (2 * 4 * 10**6)}
        ) from error
    except DisarmFailed as error:
        raise InvalidFile(_("Das Bild ist beschädigt oder unvollständig und kann nicht gelesen werden.")) from error
    finally:
        src.seek(0)


def file_clean(src: IO[bytes], *, mime: str) -> tuple[IO[bytes], str]:
    """Check a complete file of an allowed type; returns it to store as sent, and its type.

    The worker disarms it later (scanning.disarm): PDFs rewritten, images re-encoded from their pixels.
    """
    if mime == "application/pdf":
        _check_pdf(src)
    else:
        _check_image(src)
    src.seek(0)
    return src, mime
