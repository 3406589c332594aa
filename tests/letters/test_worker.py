"""Integration tests with a real Celery worker and Redis: one PDF per request, one PIN per letter, a broker outage.

The worker runs in a thread of the test process (celery.contrib.testing) against the broker in CELERY_BROKER_URL.
"""

import datetime
import threading
import time
from contextlib import contextmanager

import pytest
from celery.signals import task_postrun
from django.core.files.storage import storages
from django.utils import timezone

from audit.services import Actor
from letters.constants import LetterStatus
from letters.models import LetterRequest
from letters.services import letter_request_create, letter_requeue_stale
from letters.tasks import render_letter_task
from pins.models import LetterPin
from portal.celery import app as celery_app
from tests.factories import MemberFactory
from tests.letters.celery_worker import WORKER_TEST_MARKS, running_worker

pytestmark = WORKER_TEST_MARKS

DEAD_BROKER = "redis://127.0.0.1:1/0"
WAIT_SECONDS = 120


class Finished:
    """Counts render tasks the worker has finished, so a test can wait for duplicates to be processed too."""

    def __init__(self):
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, sender=None, **kwargs):
        if getattr(sender, "name", None) == render_letter_task.name:
            with self.changed:
                self.count += 1
                self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, timeout=WAIT_SECONDS), "worker did not finish"


@pytest.fixture
def worker():
    finished = Finished()
    task_postrun.connect(finished, weak=False)
    try:
        with running_worker():
            yield finished
    finally:
        task_postrun.disconnect(finished)


@contextmanager
def broker_unreachable():
    """Point the app's publishing at a closed port, as when Redis is down; the running worker keeps its line."""
    previous = celery_app.conf.broker_write_url
    celery_app.conf.broker_write_url = DEAD_BROKER
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        celery_app.conf.broker_write_url = previous
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def stored_pdfs() -> list[str]:
    storage = storages["default"]
    return storage.listdir("letters")[1] if storage.exists("letters") else []


def test_a_request_ends_as_exactly_one_pdf(worker):
    member = MemberFactory()
    letter = letter_request_create(member=member, purpose="Neue PIN", actor=Actor.system())
    worker.wait_for(1)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.RENDERED
    assert stored_pdfs() == [f"{letter.pk}.pdf.enc"]
    assert LetterPin.objects.filter(member=member).count() == 1


def test_a_task_delivered_twice_still_gives_one_pin(worker):
    member = MemberFactory()
    letter = letter_request_create(member=member, purpose="Neue PIN", actor=Actor.system())
    render_letter_task.delay(letter.pk)
    render_letter_task.delay(letter.pk)
    worker.wait_for(3)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.RENDERED
    assert LetterPin.objects.filter(member=member).count() == 1
    assert stored_pdfs() == [f"{letter.pk}.pdf.enc"]


def test_a_request_made_while_the_broker_is_down_is_rendered_after_it_returns(worker):
    member = MemberFactory()
    with broker_unreachable():
        letter = letter_request_create(member=member, purpose="Neue PIN", actor=Actor.system())
    # Nothing reached the worker; give it a moment to prove it (a message would be picked up at once).
    time.sleep(1)
    assert worker.count == 0
    assert LetterRequest.objects.get(pk=letter.pk).status == LetterStatus.REQUESTED

    assert letter_requeue_stale(now=timezone.now() + datetime.timedelta(minutes=10)) == 1
    worker.wait_for(1)
    letter.refresh_from_db()
    assert letter.status == LetterStatus.RENDERED
    assert LetterPin.objects.filter(member=member).count() == 1
