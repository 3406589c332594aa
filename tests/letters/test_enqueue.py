"""Tests for letters' enqueue step: broker errors are waited out by the beat, a task's own error is never hidden."""

import ast
from pathlib import Path

import pytest

from audit.services import Actor
from letters import services
from letters.constants import LetterStatus
from letters.models import LetterRequest
from letters.services import letter_request_create
from tests.helpers import broker_unreachable
from tests.production import production_env, start_settings

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_a_tasks_own_error_under_eager_celery_propagates_and_is_not_logged_as_not_enqueued(
    member, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broken(*, request_id):
        raise AttributeError("a bug in the render path")

    monkeypatch.setattr(services, "letter_render", broken)
    with (
        pytest.raises(AttributeError, match="a bug in the render path"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    assert "not enqueued" not in caplog.text


def test_a_redis_connection_error_counts_as_the_broker_being_away(
    member, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from letters.tasks import render_letter_task

    broker_unreachable(monkeypatch, render_letter_task)
    with django_capture_on_commit_callbacks(execute=True):
        letter = letter_request_create(member=member, purpose="Neu", actor=Actor.system())
    assert LetterRequest.objects.get(pk=letter.pk).status == LetterStatus.REQUESTED
    assert "not enqueued (ConnectionError)" in caplog.text


def test_letters_services_does_not_import_its_tasks_module():
    modules = sorted((ROOT / "letters" / "services").glob("*.py"))
    assert modules
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                imported.add(("." * node.level) + (node.module or ""))
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert not imported & {".tasks", "..tasks", "letters.tasks"}, module.name


@pytest.mark.slow(6)
def test_production_refuses_to_start_without_the_public_url(tmp_path):
    env = production_env(tmp_path, PORTAL_PUBLIC_URL=None)
    result = start_settings(env)
    assert result.returncode != 0
    assert "PORTAL_PUBLIC_URL" in result.stderr
    env["PORTAL_PUBLIC_URL"] = "https://portal.example"
    result = start_settings(env)
    assert "PORTAL_PUBLIC_URL" not in result.stderr
