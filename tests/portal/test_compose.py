"""docker-compose.yml: no engine runs here, so check that every service runs something the project has."""

import importlib
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_production_services_are_all_there():
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(SERVICES)


def test_web_runs_gunicorn_on_the_projects_wsgi_app_and_config():
    command = SERVICES["web"]["command"]
    assert command[0] == "gunicorn"
    module, _, attribute = command[1].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    config = command[command.index("--config") + 1]
    assert (ROOT / config).is_file()


@pytest.mark.parametrize("service", ["worker", "beat"])
def test_celery_services_name_the_projects_celery_app(service):
    command = SERVICES[service]["command"]
    assert command[:3] == ["celery", "-A", "portal"]
    assert command[3] == service
    assert importlib.import_module(command[2]).celery_app.main == "portal"


def test_migrate_service_runs_a_django_command_that_exists():
    command = SERVICES["migrate"]["command"]
    assert command[:2] == ["python", "manage.py"]
    assert command[2] in get_commands()
    assert (ROOT / "manage.py").is_file()


def test_app_services_are_built_from_the_projects_dockerfile_in_production_mode():
    assert (ROOT / "Dockerfile").is_file()
    for name in ("web", "worker", "beat", "migrate"):
        service = SERVICES[name]
        assert service["build"] == "."
        assert service["environment"]["PORTAL_PRODUCTION"] == "1"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")


def test_beat_schedule_names_tasks_that_exist():
    from django.conf import settings

    from portal.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
