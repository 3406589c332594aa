"""The insurer's brand colour (a small stylesheet) and logo, served from the portal's own origin.

The content security policy allows styles and images from 'self' only, so neither is inlined: both are answered
here, before the session and the database are touched, so that they load on the 503 page of a database outage
too. Their addresses carry a version (settings.INSURER.version), so browsers may keep them for a day.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

CSS_PATH = "/marke/farben.css"
LOGO_PATH = "/marke/logo"
CACHE_VERSIONED = "public, max-age=86400"
CACHE_UNVERSIONED = "public, max-age=300"
# An SVG opened on its own is a document: no script, nothing loaded, no form, not framed.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def brand_css() -> str:
    """The custom properties of static/css/portal.css that carry the brand colour."""
    insurer = settings.INSURER
    return (
        f":root {{ --brand: {insurer.brand_colour}; --brand-dark: {insurer.brand_dark}; "
        f"--link: {insurer.brand_colour}; }}\n"
    )


def css_url() -> str:
    return f"{CSS_PATH}?v={settings.INSURER.version}"


def logo_url() -> str:
    """The logo's address, or "" when the insurer has none."""
    insurer = settings.INSURER
    if not insurer.logo:
        return ""
    return f"{LOGO_PATH}.{insurer.logo_extension}?v={insurer.version}"


def _response(request: HttpRequest, body: bytes | str, content_type: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    versioned = request.GET.get("v") == settings.INSURER.version
    response["Cache-Control"] = CACHE_VERSIONED if versioned else CACHE_UNVERSIONED
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def brand_asset(request: HttpRequest) -> HttpResponse | None:
    """The response for a brand address, or None for every other path."""
    if not request.path.startswith("/marke/"):
        return None
    if request.method not in {"GET", "HEAD"}:
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    insurer = settings.INSURER
    if request.path == CSS_PATH:
        return _response(request, brand_css(), "text/css; charset=utf-8")
    if insurer.logo and request.path == f"{LOGO_PATH}.{insurer.logo_extension}":
        response = _response(request, insurer.logo, insurer.logo_type)
        if insurer.logo_type == "image/svg+xml":
            response["Content-Security-Policy"] = SVG_POLICY
        return response
    return HttpResponseNotFound(b"", content_type="text/plain")


class BrandAssetsMiddleware:
    """Answers /marke/farben.css and /marke/logo.(svg|png) itself; every other request passes on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return brand_asset(request) or self.get_response(request)
