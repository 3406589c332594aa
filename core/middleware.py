"""Security headers Django and django-csp do not set: Permissions-Policy, and no-store for signed-in pages."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    """Deny browser features nobody here needs; keep pages of a signed-in person out of every cache.

    Place it after AuthenticationMiddleware: it asks whether the request's user is signed in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        # A page of a signed-in person may hold personal data: no browser or proxy cache may keep it.
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
