"""Probes answered before anything else, and request latency / upload metrics for every other request."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.metrics import REQUEST_SECONDS, upload_counted
from core.requestid import route_of
from ops import views

# Answered first, so that a load balancer's probe is not refused by the host check (it asks by IP address) nor
# redirected to HTTPS, and no probe fills the request log. /metrics is guarded by its token.
PROBES = {"/healthz": views.healthz, "/readyz": views.readyz, "/metrics": views.metrics}

# Upload requests whose accepted bytes are counted: the tus PATCH (204 when stored).
_UPLOAD_VIEW = "uploads:tus_upload"


class ProbeMiddleware:
    """Put it first in MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/") or "/")
        if probe is not None:
            return probe(request)
        return self.get_response(request)


class MetricsMiddleware:
    """Observes every request's latency by method, route pattern and status; counts accepted upload bytes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        method = request.method if request.method in _METHODS else "other"
        REQUEST_SECONDS.labels(method=method, route=route_of(request), status=str(response.status_code)).observe(
            seconds
        )
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name == _UPLOAD_VIEW and method == "PATCH" and response.status_code == 204:
            upload_counted(size=int(request.META.get("CONTENT_LENGTH") or 0), seconds=seconds)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
