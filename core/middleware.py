"""Security headers Django and django-csp do not set: Permissions-Policy, and no-store for signed-in pages."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class SecurityHeadersMiddleware:
    """Deny browser features nobody here needs; keep pages of a signed-in person out of every cache.

    Place it after SessionMiddleware: it asks the session whether someone is signed in (without loading the
    user from the database, which a public page would not need otherwise).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        session = getattr(request, "session", None)
        # A page of a signed-in person may hold personal data: no browser or proxy cache may keep it.
        if session is not None and SESSION_KEY in session:
            add_never_cache_headers(response)
        return response
