"""The client's address, read once for the whole portal: the login throttle, the audit log and the logs use it."""

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest | None) -> str | None:
    """REMOTE_ADDR, or the address our TRUSTED_PROXY_COUNT proxies put in X-Forwarded-For; None when unknown.

    Each trusted proxy appends the address it was connected from, so the client is the TRUSTED_PROXY_COUNT-th
    entry from the right; anything further left was sent by the client itself and cannot be trusted. A header
    that is too short or whose entry is not an address falls back to REMOTE_ADDR with a warning: the answer is
    always a valid address (or None), never a string a database column would refuse.
    """
    if request is None:
        return None
    remote = _address(request.META.get("REMOTE_ADDR") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
    if len(hops) < proxies:
        logger.warning("X-Forwarded-For shorter than TRUSTED_PROXY_COUNT; using REMOTE_ADDR")
        return remote
    candidate = _address(hops[-proxies])
    if candidate is None:
        # Never the header's text itself in the log: it is whatever the client chose to send.
        logger.warning("unreadable X-Forwarded-For entry; using REMOTE_ADDR")
        return remote
    return candidate
