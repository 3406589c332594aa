"""Tests for handing a completed file to the worker's check: a broker that is away waits for beat, never a 500."""

import ast
from pathlib import Path

import pytest

from tests.helpers import broker_unreachable
from uploads.models import Upload
from uploads.tasks import screen_document, screen_upload

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_the_check_of_a_completed_file_waits_for_beat_when_redis_is_away(
    file_checks, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    broker_unreachable(monkeypatch, screen_upload)
    with django_capture_on_commit_callbacks(execute=True):
        file_checks.enqueue_on_commit(Upload(pk=12345))  # the real hook the completion calls
    assert "check of upload 12345 not enqueued (ConnectionError)" in caplog.text


def test_a_check_task_that_fails_itself_is_not_hidden_as_a_broker_outage(
    file_checks, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broken(*args, **kwargs):
        raise AttributeError("a bug in the check")

    monkeypatch.setattr(screen_upload, "apply_async", broken)
    with pytest.raises(AttributeError), django_capture_on_commit_callbacks(execute=True):
        file_checks.enqueue_on_commit(Upload(pk=12345))
    assert "not enqueued" not in caplog.text


WRITES = sorted(str(path.relative_to(ROOT / "uploads")) for path in (ROOT / "uploads" / "services").glob("*.py"))


@pytest.mark.parametrize("module", [*WRITES, "screening.py"])
def test_uploads_writes_do_not_import_the_tasks_module(module):
    tree = ast.parse((ROOT / "uploads" / module).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            # `from ..tasks import x` names "tasks"; `from .. import tasks` names "tasks" too.
            imported.add(node.module or "")
            imported.update(f"{node.module or ''}.{alias.name}".lstrip(".") for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert "tasks" not in imported and "uploads.tasks" not in imported


def test_every_process_knows_the_check_task_by_name():
    """The web process never imports uploads.tasks itself: the app registry must (a web node met NotRegistered)."""
    import subprocess
    import sys

    code = (
        "import django; django.setup(); from celery import current_app; "
        "from uploads.models import SubmissionDocument, Upload; "
        "print(current_app.tasks[Upload.SCAN_TASK].name, current_app.tasks[SubmissionDocument.SCAN_TASK].name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == [screen_upload.name, screen_document.name], result.stderr[-500:]
    assert (
        screen_upload.name == "uploads.tasks.screen_upload" and screen_document.name == "uploads.tasks.screen_document"
    )


def test_an_unknown_task_name_is_an_error_not_a_broker_outage(caplog):
    from celery.exceptions import NotRegistered

    from core.queue import task_enqueue

    with pytest.raises(NotRegistered):
        task_enqueue(name="uploads.tasks.no_such_task", args=(1,), what="nothing")
    assert "not enqueued" not in caplog.text
