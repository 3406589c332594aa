"""A real Celery worker in a thread of the test process, for the integration tests of letters and campaigns."""

import os
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker

from portal.celery import app as celery_app

# The marks of a test module that needs the worker: Redis as the broker, and rows the worker's thread can see.
WORKER_TEST_MARKS = [
    pytest.mark.worker,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"),
        reason="needs a Redis broker: set CELERY_BROKER_URL=redis://...",
    ),
    pytest.mark.django_db(transaction=True),
]


@contextmanager
def running_worker():
    """A solo worker on an emptied queue, against the broker in CELERY_BROKER_URL; tasks are no longer eager."""
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_purge("celery")
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
        yield
