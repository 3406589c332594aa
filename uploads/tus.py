"""The tus 1.0 resumable upload protocol (core, creation, termination, expiration) on top of uploads.services."""

import base64
import binascii
import re
import unicodedata

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import reverse
from django.utils.http import http_date
from django.utils.translation import gettext as _

from .exceptions import UnsupportedType, UploadError
from .models import Upload

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# Lengths and offsets: ASCII digits only (str.isdigit also accepts "²", which int() refuses), at most 18 of
# them so that every accepted value fits PostgreSQL's bigint.
_NUMBER = re.compile(r"[0-9]{1,18}", re.ASCII)
# tus metadata keys: printable ASCII without space or comma; we also refuse anything but a plain name.
_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}", re.ASCII)


def tus_response(status: int = 204, *, upload: Upload | None = None, message: str = "") -> HttpResponse:
    """A tus response: protocol headers, no caching, the upload's offset and expiry, a message for errors."""
    response = JsonResponse({"message": str(message)}, status=status) if message else HttpResponse(status=status)
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    if upload is not None:
        response["Upload-Offset"] = str(upload.offset)
        response["Upload-Length"] = str(upload.length)
        if not upload.is_complete:
            response["Upload-Expires"] = http_date(upload.expires_at.timestamp())
    return response


def tus_options() -> HttpResponse:
    response = tus_response(204)
    response["Tus-Version"] = TUS_VERSION
    response["Tus-Extension"] = EXTENSIONS
    response["Tus-Max-Size"] = str(settings.UPLOAD_MAX_FILE_SIZE)
    return response


def request_refused(request: HttpRequest, *, methods: tuple[str, ...]) -> HttpResponse | None:
    """The answer when the request is not one for an endpoint serving `methods`, else None: OPTIONS is answered
    with what the server supports, another method with 405, another protocol version with 412."""
    if request.method == "OPTIONS":
        return tus_options()
    if request.method not in methods:
        return HttpResponseNotAllowed(["OPTIONS", *methods])
    return _version_refused(request)


def _version_refused(request: HttpRequest) -> HttpResponse | None:
    """412 when the client speaks another protocol version (every request but OPTIONS must say 1.0.0)."""
    if request.headers.get("Tus-Resumable") == TUS_VERSION:
        return None
    response = tus_response(412, message=_("Dieses Upload-Protokoll wird nicht unterstützt."))
    response["Tus-Version"] = TUS_VERSION
    return response


def creation_headers(request: HttpRequest) -> tuple[int, dict[str, str]]:
    """Upload-Length and Upload-Metadata of a creation (POST); UploadError (400) when either is unusable."""
    length = header_int(request, "Upload-Length")
    if length is None:
        raise UploadError(_("Die Dateigröße fehlt oder ist ungültig."))
    try:
        metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    except ValueError as error:
        raise UploadError(_("Die Angaben zur Datei sind ungültig.")) from error
    return length, metadata


def patch_offset(request: HttpRequest) -> int:
    """The Upload-Offset of a PATCH; UnsupportedType (415) for another content type, UploadError (400) without it."""
    if request.content_type != OFFSET_CONTENT_TYPE:
        raise UnsupportedType(_("Falscher Inhaltstyp für einen Upload-Teil."))
    offset = header_int(request, "Upload-Offset")
    if offset is None:
        raise UploadError(_("Die Angabe Upload-Offset fehlt."))
    return offset


def header_int(request: HttpRequest, name: str) -> int | None:
    """A non-negative integer header, or None when it is missing or not a plain number."""
    value = request.headers.get(name, "")
    return int(value) if _NUMBER.fullmatch(value) else None


def _has_control(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in text)


def parse_metadata(value: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated "key base64value" pairs.

    Raises ValueError for a key that is not a plain ASCII name, a value that is not base64 of UTF-8, or a value
    with a control character (a NUL cannot be stored in PostgreSQL, and none belongs in a file name).
    """
    metadata = {}
    for pair in filter(None, (item.strip() for item in value.split(","))):
        key, _sep, encoded = pair.partition(" ")
        if not _KEY.fullmatch(key):
            raise ValueError("key")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8") if encoded else ""
        except (binascii.Error, UnicodeDecodeError) as error:
            raise ValueError(key) from error
        if _has_control(decoded):
            raise ValueError(key)
        metadata[key] = decoded
    return metadata


def upload_url(request: HttpRequest, upload: Upload) -> str:
    """The absolute URL of the upload's tus resource (the Location of a creation, the page's resumable list)."""
    return request.build_absolute_uri(reverse("uploads:tus_upload", args=[upload.public_id]))
