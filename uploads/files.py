"""Checking and cleaning uploaded files: safe names, type by content, PDF and image checks, virus scan."""

import logging
import socket
import struct
import tempfile
import unicodedata
import warnings
from typing import IO

import magic
import pillow_heif
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader

from .constants import ALLOWED_TYPES, KNOWN_EXTENSIONS
from .exceptions import InvalidFile, UnsupportedType

logger = logging.getLogger(__name__)
pillow_heif.register_heif_opener()

# python-magic needs this many leading bytes to tell our types apart reliably.
SNIFF_BYTES = 4096
MAX_NAME_LENGTH = 120
COPY_CHUNK = 64 * 1024
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


def _clean_image(src: IO[bytes], *, mime: str) -> tuple[IO[bytes], str]:
    """Re-encode the image without EXIF/GPS (orientation applied); HEIC becomes JPEG. Returns (file, mime)."""
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb warning fires at open; our stricter limit is checked right below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(src)
        with image:
            width, height = image.size
            if width * height > settings.UPLOAD_MAX_IMAGE_PIXELS:
                raise InvalidFile(
                    _(
                        "Das Bild hat zu viele Bildpunkte (%(width)s x %(height)s). Bitte laden Sie ein kleineres Bild hoch."
                    )
                    % {"width": width, "height": height}
                )
            # Turn the pixels upright in place (no second copy in memory), since the orientation tag goes.
            ImageOps.exif_transpose(image, in_place=True)
            cleaned = image
            out = tempfile.TemporaryFile()  # noqa: SIM115 - returned open; the caller closes it
            if mime == "image/png":
                cleaned.save(out, format="PNG", optimize=False)
                out_mime = "image/png"
            else:
                if cleaned.mode not in ("RGB", "L"):
                    cleaned = cleaned.convert("RGB")
                cleaned.save(out, format="JPEG", quality=90)
                out_mime = "image/jpeg"
    except InvalidFile:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise InvalidFile(_("Das Bild ist beschädigt oder unvollständig und kann nicht gelesen werden.")) from error
    out.seek(0)
    return out, out_mime


def file_clean(src: IO[bytes], *, mime: str) -> tuple[IO[bytes], str]:
    """Check a complete file of an allowed type; returns the file to store (maybe re-encoded) and its type."""
    if mime == "application/pdf":
        _check_pdf(src)
        src.seek(0)
        return src, mime
    return _clean_image(src, mime=mime)


def virus_scan(src: IO[bytes]) -> bool | None:
    """Scan with clamd (INSTREAM) when CLAMD_SOCKET is set: True clean, False infected, None not scanned."""
    if not settings.CLAMD_SOCKET:
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(60)
            conn.connect(settings.CLAMD_SOCKET)
            conn.sendall(b"zINSTREAM\0")
            while chunk := src.read(COPY_CHUNK):
                conn.sendall(struct.pack("!L", len(chunk)) + chunk)
            conn.sendall(struct.pack("!L", 0))
            reply = conn.recv(4096).decode("utf-8", "replace")
    except OSError:
        logger.warning("clamd at %s not reachable; file left unscanned", settings.CLAMD_SOCKET)
        return None
    finally:
        src.seek(0)
    if "FOUND" in reply:
        return False
    return True if reply.rstrip("\0").strip().endswith("OK") else None
