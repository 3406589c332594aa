"""/healthz (the process answers), /readyz (its dependencies answer) and /metrics (Prometheus, token only)."""

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from ops.checks import degraded, ready_report, reported_status
from ops.collectors import PortalCollector


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: answers as long as the process serves requests; touches no dependency. "degraded" names what
    this process last found down among the reported dependencies (storage, clamd), when it found any."""
    body = {"status": "ok"}
    if down := degraded(reported_status(refresh=False)):
        body["degraded"] = down
    response = JsonResponse(body)
    add_never_cache_headers(response)
    return response


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when the database, the cache and the broker answer, else 503. Storage and clamd are in
    the report (at most REPORTED_TTL_SECONDS old) but never make it 503."""
    ready, report = ready_report()
    response = JsonResponse(report, status=200 if ready else 503)
    add_never_cache_headers(response)
    return response


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; without METRICS_TOKEN, or without the right bearer token, it does not exist (404)."""
    if not _authorised(request):
        raise Http404
    portal = CollectorRegistry(auto_describe=False)
    portal.register(PortalCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every gunicorn worker writes its counters to files there; add them up with the database gauges.
        multiprocess.MultiProcessCollector(portal)
        body = generate_latest(portal)
    else:
        body = generate_latest(REGISTRY) + generate_latest(portal)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    add_never_cache_headers(response)
    return response
