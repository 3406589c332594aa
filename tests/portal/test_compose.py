"""docker-compose.yml and deploy/nginx.conf: no container engine runs here, so check that every service runs
something the project has, that health checks are wired, and let Debian's nginx test the proxy configuration."""

import importlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

from tests.loopback import self_signed_certificate

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


WEB = ("web-1", "web-2")
APP_SERVICES = (*WEB, "worker", "beat", "migrate", "storage-setup")
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


def test_production_services_are_all_there():
    assert {"nginx", *WEB, "worker", "beat", "postgres", "valkey", "storage-setup", "clamav", "migrate"} <= set(
        SERVICES
    )


@pytest.mark.parametrize("web", WEB)
def test_web_runs_gunicorn_on_the_projects_wsgi_app_and_config(web):
    command = SERVICES[web]["command"]
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


def test_storage_setup_runs_before_the_web_and_creates_the_bucket():
    assert SERVICES["storage-setup"]["command"] == ["python", "manage.py", "storage_setup"]
    assert SERVICES["storage-setup"]["restart"] == "no"
    for web in WEB:
        assert SERVICES[web]["depends_on"]["storage-setup"]["condition"] == "service_completed_successfully"
        assert SERVICES[web]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_every_long_running_service_has_a_health_check_and_dependants_wait_for_it():
    for name, service in SERVICES.items():
        if service.get("restart") == "no":
            continue
        assert service.get("healthcheck", {}).get("test"), name
        for dependency, condition in service.get("depends_on", {}).items():
            if SERVICES[dependency].get("restart") != "no":
                assert condition["condition"] == "service_healthy", (name, dependency)


@pytest.mark.parametrize("web", WEB)
def test_web_is_healthy_only_when_ready(web):
    test = " ".join(SERVICES[web]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/readyz" in test


def test_only_nginx_publishes_ports_and_the_app_trusts_exactly_that_one_proxy():
    assert [name for name, service in SERVICES.items() if service.get("ports")] == ["nginx"]
    for name in APP_SERVICES:
        assert SERVICES[name]["environment"]["TRUSTED_PROXY_COUNT"] == "1"


def test_scanning_and_storage_are_wired():
    assert SERVICES["worker"]["environment"]["CLAMD_TCP"] == "clamav:3310"
    assert SERVICES["clamav"]["image"].startswith("clamav/clamav:")
    for name in APP_SERVICES:
        environment = SERVICES[name]["environment"]
        assert environment["STORAGE_BACKEND"] == "s3"
        assert environment["S3_ENDPOINT_URL"].startswith("${S3_ENDPOINT_URL:?")  # bring your own S3


def test_no_secret_is_written_into_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert re.search(rf"\$\{{{variable}:\?", text), variable
    for name in APP_SERVICES:
        assert SERVICES[name]["env_file"] == ".env"
        assert "SECRET_KEY" not in SERVICES[name]["environment"]
        assert "METRICS_TOKEN" not in SERVICES[name]["environment"]


def test_nginx_proxies_to_both_replicas_and_hides_metrics():
    conf = NGINX_CONF.read_text()
    assert all(f"server {web}:8000" in conf for web in WEB)
    assert re.search(r"location = /metrics \{ return 404; \}", conf)
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    from django.conf import settings

    assert int(size[1]) * 2**20 >= max(settings.UPLOAD_CHUNK_SIZE, settings.UPLOAD_MAX_FILE_SIZE + 64 * 1024)
    mounts = SERVICES["nginx"]["volumes"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in mounts


@pytest.mark.skipif(not shutil.which("nginx") or not shutil.which("openssl"), reason="needs Debian's nginx and openssl")
def test_debians_nginx_accepts_the_configuration(tmp_path):
    """nginx -t with the replicas' names pointed at loopback and a throw-away certificate."""
    tls = tmp_path / "tls"
    tls.mkdir()
    self_signed_certificate(tls, common_name="test")
    conf = NGINX_CONF.read_text().replace("web-1:8000", "127.0.0.1:1").replace("web-2:8000", "127.0.0.1:2")
    conf = conf.replace("/etc/nginx/tls/", f"{tls}/").replace("root /srv;", f"root {tmp_path};")
    (tmp_path / "nginx.conf").write_text(conf)
    result = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-g", f"pid {tmp_path}/nginx.pid; error_log stderr;"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_app_services_are_built_from_the_projects_dockerfile_in_production_mode():
    assert (ROOT / "Dockerfile").is_file()
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert service["build"] == "."
        assert service["environment"]["PORTAL_PRODUCTION"] == "1"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["CELERY_BROKER_URL"].startswith("redis://valkey:")


def test_beat_schedule_names_tasks_that_exist():
    from django.conf import settings

    from portal.celery import app

    app.loader.import_default_modules()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_the_image_context_leaves_out_secrets_and_local_state():
    """Without .dockerignore, `COPY . .` put .env, the TLS key, var/ (SQLite, files) and .venv into the image."""
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", "deploy/tls", "var", ".venv", ".git"} <= ignored
    assert "deploy/tls/*.pem" in (ROOT / ".gitignore").read_text().splitlines()


# What an insurer can run without a legal review: permissive licences, and GPL only for a daemon that is run
# unmodified and reached over a socket (nothing of it is linked into the portal). AGPL, SSPL, RSAL and BUSL only
# in an optional profile that `docker compose up` does not start.
PERMISSIVE = {"EUPL-1.2", "BSD-2-Clause", "BSD-3-Clause", "PostgreSQL", "MIT", "Apache-2.0"}
SEPARATE_GPL_DAEMONS = {"clamav": "GPL-2.0-only"}


def test_every_service_names_its_licence_and_the_default_services_need_no_legal_review():
    for name, service in SERVICES.items():
        licence = service.get("labels", {}).get("org.opencontainers.image.licenses")
        assert licence, f"{name} names no licence"
        if service.get("profiles"):
            continue
        assert licence in PERMISSIVE or SEPARATE_GPL_DAEMONS.get(name) == licence, (name, licence)
    assert not [name for name, service in SERVICES.items() if service.get("image", "").startswith("redis:")]
    assert SERVICES["valkey"]["image"].startswith("valkey/valkey:")


def test_minio_is_an_optional_profile_and_nothing_requires_it():
    assert SERVICES["minio"]["profiles"] == ["minio"]
    assert SERVICES["minio"]["labels"]["org.opencontainers.image.licenses"] == "AGPL-3.0-only"
    for name, service in SERVICES.items():
        if "minio" in service.get("depends_on", {}):
            assert service["depends_on"]["minio"]["required"] is False, name


def test_static_files_come_from_the_image_not_from_a_volume_that_outlives_an_upgrade():
    assert "static" not in (COMPOSE.get("volumes") or {})
    for name, service in SERVICES.items():
        for mount in service.get("volumes", []):
            source, _, target = mount.partition(":")
            assert "static" not in target.split(":")[0] and source != "static", (name, mount)


@pytest.mark.parametrize("web", WEB)
def test_web_nodes_do_not_wait_for_clamav(web):
    assert "clamav" not in SERVICES[web]["depends_on"]
    assert SERVICES["worker"]["depends_on"]["clamav"]["condition"] == "service_healthy"
