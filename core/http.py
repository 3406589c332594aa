"""The response helpers every room shares: the staff-page guard, the streamed download, the inline PDF."""

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header


def staff_view(perm: str) -> Callable:
    """A staff page: the admin's login with its second factor (admin_view), then `perm`, else 403.

    Anyone without a verified staff session (anonymous, a member signed in with a PIN, staff without the second
    factor) is sent to the admin login; a verified staff member without `perm` gets 403.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return admin.site.admin_view(checked)

    return decorator


def attachment_response(
    chunks: Iterable[bytes], *, name: str, mime_type: str, size: int | None = None
) -> StreamingHttpResponse:
    """A streamed download: attachment with an RFC 6266 file name, nosniff, no-store, the length when known."""
    response = StreamingHttpResponse(chunks, content_type=mime_type or "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, name)
    if size is not None:
        response["Content-Length"] = str(size)
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def private_response(content: bytes, *, content_type: str) -> HttpResponse:
    """Bytes of a member's document shown in a staff page (a rendered page, a thumbnail): nosniff, never stored
    by the browser or a cache on the way (no-store, private)."""
    response = _private(HttpResponse(content, content_type=content_type))
    response["Cache-Control"] = "no-store, private"
    return response


def pdf_inline_response(pdf: bytes, *, name: str) -> HttpResponse:
    """A PDF shown in the browser (a specimen, a preview): inline with an RFC 6266 file name, nosniff, no-store."""
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(False, name)
    return _private(response)
