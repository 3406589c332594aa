"""Gauges computed at scrape time from the database and the broker: PINs, letters, the print queue, scans, queues.

Counts by status are grouped in SQL (indexed columns), so a scrape costs a handful of small queries. A part
that cannot be read (the database or the broker is away) is reported as portal_scrape_error{part=...} 1
instead of failing the whole scrape. No label holds a KVNR, a PIN or anything a member typed.
"""

import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core.rotation import CENSUS_CACHE_KEY
from letters.constants import LetterStatus
from letters.selectors import letter_counts_by_status, letters_oldest_requested_at
from ops.checks import reported_status
from pins.selectors import pin_counts_by_status
from uploads.selectors import document_counts_by, upload_counts_by
from web.attack import attack_level

logger = logging.getLogger(__name__)

# kombu's Redis transport keeps a queue as a list named after it, plus one list per priority step.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def queue_names() -> list[str]:
    """The Celery queues this project uses: the default one plus any named in routes."""
    names = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")}
    for route in (getattr(settings, "CELERY_TASK_ROUTES", None) or {}).values():
        if isinstance(route, dict) and route.get("queue"):
            names.add(route["queue"])
    return sorted(names)


class PortalCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        errors = GaugeMetricFamily(
            "portal_scrape_error", "1 when a part of the scrape could not be read.", labels=["part"]
        )
        parts = (
            ("database", self._database),
            ("broker", self._queues),
            ("login", self._login),
            ("dependencies", self._dependencies),
            ("keys", self._keys),
        )
        for part, produce in parts:
            try:
                yield from produce()
                errors.add_metric([part], 0)
            except Exception as error:  # a scrape must answer even while a dependency is away
                logger.warning("metrics: %s could not be read (%s)", part, type(error).__name__)
                errors.add_metric([part], 1)
        yield errors

    def _dependencies(self) -> Iterator[GaugeMetricFamily]:
        """Storage and clamd as /readyz reports them (not required for readiness, so alerts come from here)."""
        up = GaugeMetricFamily(
            "portal_dependency_up",
            "1 when a dependency that does not decide readiness answers (storage, clamd); 0 when it is down.",
            labels=["dependency"],
        )
        for name, entry in reported_status().items():
            if entry["status"] != "skipped":
                up.add_metric([name], 0 if entry["status"] == "down" else 1)
        yield up

    def _database(self) -> Iterator[GaugeMetricFamily]:
        pins = GaugeMetricFamily(
            "portal_pins", "PINs by status (active, locked, expired, invalidated).", labels=["status"]
        )
        for status, n in pin_counts_by_status().items():
            pins.add_metric([status], n)
        letters = GaugeMetricFamily("portal_letters", "Letter requests by status.", labels=["status"])
        counts = letter_counts_by_status()
        for status in LetterStatus.values:
            letters.add_metric([status], counts.get(status, 0))
        oldest = letters_oldest_requested_at()
        age = GaugeMetricFamily(
            "portal_letters_oldest_requested_age_seconds",
            "Age of the oldest letter still waiting for the worker (0 when none waits).",
        )
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0)
        waiting = GaugeMetricFamily(
            "portal_print_letters_waiting",
            "Rendered letters waiting for the print shop to collect them (the next batch).",
        )
        waiting.add_metric([], counts.get(LetterStatus.RENDERED, 0))
        uploads = GaugeMetricFamily("portal_uploads", "Uploads in members' drafts by status.", labels=["status"])
        for status, n in upload_counts_by(field="status").items():
            uploads.add_metric([status], n)
        scans = GaugeMetricFamily(
            "portal_scans",
            "Files by virus scan result (drafts' uploads and submitted documents), e.g. clean, infected, held.",
            labels=["kind", "result"],
        )
        for kind, counts_by in (("upload", upload_counts_by), ("document", document_counts_by)):
            for result, n in counts_by(field="scan_status").items():
                scans.add_metric([kind, result], n)
        yield from (pins, letters, age, waiting, uploads, scans)

    def _login(self) -> Iterator[GaugeMetricFamily]:
        level = GaugeMetricFamily(
            "portal_login_attack_level",
            "Attack mode of the login: 0 off; 1 and up while guesses from all addresses exceed the global budget "
            "(every login then solves a proof of work whose cost doubles per level).",
        )
        level.add_metric([], attack_level())
        yield level

    def _keys(self) -> Iterator[GaugeMetricFamily]:
        """Stored objects per key id from the last complete census (rotate_keys, its daily task); none before."""
        census = cache.get(CENSUS_CACHE_KEY)
        if census is None:
            return
        objects = GaugeMetricFamily(
            "portal_stored_objects",
            "Stored encrypted objects (files and upload segments) per key id, from the last key census.",
            labels=["key_id"],
        )
        for key_id, n in sorted(census["objects"].items()):
            objects.add_metric([key_id], n)
        yield objects

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            return
        url = settings.CELERY_BROKER_URL
        if not url.startswith(("redis://", "rediss://")):
            return
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            lengths = GaugeMetricFamily(
                "portal_celery_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"]
            )
            for name in queue_names():
                lengths.add_metric([name], sum(client.llen(name + suffix) for suffix in _PRIORITY_SUFFIXES))
        finally:
            client.close()
        yield lengths
