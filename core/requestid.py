"""The request id: taken from X-Request-ID when valid, else generated; set for the logs and echoed in the response.

The same middleware writes the one log line per request (method, route pattern, status, duration): the route
pattern and never the path, so no query string, token or id a member typed reaches the log.
"""

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from core.logs import request_id_from, request_id_var

HEADER = "X-Request-ID"
logger = logging.getLogger("portal.request")


def route_of(request: HttpRequest) -> str:
    """The URL pattern that served the request ("antrag/dateien/<uuid:public_id>/"), or "unmatched"."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + (match.route or "")


class RequestIdMiddleware:
    """Place it first: everything logged while the request is served (and every task it enqueues) carries the id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[HEADER] = request_id
            logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route_of(request),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        finally:
            request_id_var.reset(token)
        return response
