"""Tests for letters/tasks.py: retries with back-off for transient errors, then a failure staff can see."""

import pytest
from django.db import OperationalError

from letters import services
from letters.constants import LetterStatus
from letters.models import LetterRequest
from letters.rendering import LetterRenderError
from letters.tasks import _backoff, render_letter_task
from portal.celery import app as celery_app
from tests.letters.factories import LetterRequestFactory


@pytest.fixture
def waiting_letter(db):
    return LetterRequestFactory()


@pytest.fixture(autouse=True)
def _eager_retries():
    """Let an eager task's retries run in turn, as a worker would, instead of raising Retry to the caller."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


def _run_task_failing_with(error: Exception, *, letter, monkeypatch) -> list[int]:
    """Run the task for `letter` with a render step that always raises `error`; the render step's calls."""
    calls = []

    def failing(*, request_id):
        calls.append(request_id)
        raise error

    monkeypatch.setattr(services, "letter_render", failing)
    render_letter_task.apply(args=(letter.pk,))
    letter.refresh_from_db()
    return calls


def test_transient_errors_are_retried_then_the_letter_fails_with_a_reason(waiting_letter, monkeypatch, settings):
    calls = _run_task_failing_with(
        OperationalError("server closed the connection unexpectedly"), letter=waiting_letter, monkeypatch=monkeypatch
    )
    assert len(calls) == settings.LETTER_MAX_ATTEMPTS
    assert waiting_letter.status == LetterStatus.FAILED
    assert "OperationalError" in waiting_letter.failure_reason
    assert "server closed" not in waiting_letter.failure_reason


def test_a_transient_error_that_clears_renders_the_letter(waiting_letter, monkeypatch):
    real = services.letter_render
    calls = []

    def once_flaky(*, request_id):
        calls.append(request_id)
        if len(calls) == 1:
            raise OperationalError("gone")
        real(request_id=request_id)

    monkeypatch.setattr(services, "letter_render", once_flaky)
    render_letter_task.apply(args=(waiting_letter.pk,))
    assert LetterRequest.objects.get(pk=waiting_letter.pk).status == LetterStatus.RENDERED


def test_a_render_error_fails_the_letter_at_once(waiting_letter, monkeypatch):
    calls = _run_task_failing_with(
        LetterRenderError("Brief konnte nicht gesetzt werden (TemplateSyntaxError)"),
        letter=waiting_letter,
        monkeypatch=monkeypatch,
    )
    assert len(calls) == 1
    assert waiting_letter.status == LetterStatus.FAILED
    assert waiting_letter.failure_reason == "Brief konnte nicht gesetzt werden (TemplateSyntaxError)"


def test_backoff_grows_and_is_capped():
    assert _backoff(0) < _backoff(2) < _backoff(4)
    assert _backoff(20) <= 605


def test_the_task_result_carries_nothing(waiting_letter):
    assert render_letter_task.apply(args=(waiting_letter.pk,)).result is None
