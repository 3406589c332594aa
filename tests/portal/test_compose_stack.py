"""docker-compose.yml's process graph, started with this machine's real programs from the file's own values.

No container engine runs here, so the test reads docker-compose.yml and deploy/env.example and starts what they
say: each app service's command with its environment after Compose's interpolation, in the order depends_on
gives, one-shot jobs run to completion before their dependants, each long-running service until its own
healthcheck passes. Only the addresses of the services the file takes from images (postgres, valkey, clamav) are
this machine's (the test's PostgreSQL database, its Redis DB numbers, a clamd on a loopback port), the bucket is
moto's (bring your own S3), and /app/var is a folder holding what the image's static step (scripts/collectstatic.sh)
wrote. Every other value is passed as the file has it, so the file and what is tested cannot drift apart.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from base64 import urlsafe_b64encode
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.db import connection

from tests.clamav import daemon as clamav
from tests.cluster.conftest import collected_static  # noqa: F401
from tests.loopback import free_port
from tests.s3.conftest import moto_endpoint  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# Services the file takes from images; the app services reach them by these names.
PROVIDED = {"postgres", "valkey", "clamav", "minio", "nginx"}
# The only variables whose values are this machine's: the addresses of the provided services.
MAPPED = {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "CLAMD_TCP"}
# Test values for what deploy/env.example leaves to the operator.
ENV_VALUES = {
    "SECRET_KEY": secrets.token_urlsafe(48),
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1",
    "INSURER_NAME": "Beispielkasse (Test)",
    "INSURER_SHORT_NAME": "Beispielkasse",
    "INSURER_HOTLINE_PHONE": "030 23125 000",
    "INSURER_POSTAL_ADDRESS": "Postfach 00 00 00,00000 Musterstadt",
    "INSURER_WEBSITE": "https://beispielkasse.invalid",
    "INSURER_IMPRINT_URL": "https://beispielkasse.invalid/impressum",
    "INSURER_PRIVACY_CONTACT": "datenschutz@beispielkasse.invalid",
    "FILE_ENCRYPTION_KEYS": "k1:" + urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    "POSTGRES_PASSWORD": "not-used-the-tests-database-is",
    "S3_ACCESS_KEY": "testing",
    "S3_SECRET_KEY": "testing",
    "METRICS_TOKEN": secrets.token_urlsafe(24),
}
needs_services = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres")
    or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://")
    or not os.environ.get("CACHE_URL", "").startswith("redis://")
    or not clamav.available(),
    reason="needs PostgreSQL, Redis (DATABASE_URL, CELERY_BROKER_URL, CACHE_URL) and clamd",
)


def dot_env(extra: dict[str, str]) -> dict[str, str]:
    """deploy/env.example as an operator fills it in: its values, the empty ones from ENV_VALUES."""
    values = {}
    for line in (ROOT / "deploy" / "env.example").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition("=")
        value = value.strip() or extra.get(key.strip()) or ENV_VALUES.get(key.strip(), "")
        assert value, f"deploy/env.example: {key} needs a test value in ENV_VALUES"
        values[key.strip()] = value
    return {**values, **extra}


def interpolate(value, env: dict[str, str]) -> str:
    """Compose's interpolation: ${VAR:?message}, ${VAR:-default}, ${VAR} and $$."""

    def one(match: re.Match) -> str:
        name, operator, argument = match["name"], match["op"], match["arg"]
        if operator == ":?":
            assert env.get(name), f"compose refuses to start without {name}: {argument}"
        if operator == ":-" and not env.get(name):
            return argument
        return env.get(name, "")

    pattern = r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:\?|:-)(?P<arg>[^}]*))?\}"
    return re.sub(pattern, one, str(value)).replace("$$", "$")


def order() -> list[str]:
    """The app services in an order depends_on allows (the provided services are up before all of them); of
    those ready to start, the ones that do not wait for clamav first (Compose starts them in parallel)."""
    done: list[str] = []
    pending = [name for name in SERVICES if name not in PROVIDED]
    while pending:
        ready = [n for n in pending if all(d in PROVIDED or d in done for d in SERVICES[n].get("depends_on", {}))]
        assert ready, f"depends_on has a cycle among {pending}"
        name = min(ready, key=lambda n: "clamav" in SERVICES[n].get("depends_on", {}))
        done.append(name)
        pending.remove(name)
    return done


class Stack:
    def __init__(self, tmp: Path, *, endpoint: str):
        self.tmp = tmp
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.clamd: clamav.Daemon | None = None
        self.clamd_port = free_port()
        self.web_ports: dict[str, int] = {}
        self.bucket = f"portal-{uuid.uuid4().hex[:12]}"
        self.dot_env = dot_env({"S3_ENDPOINT_URL": endpoint, "S3_BUCKET": self.bucket})
        database = connection.settings_dict
        self.local = {
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
                f"{database['NAME']}"
            ),
            "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
            "CACHE_URL": os.environ["CACHE_URL"],
            "CLAMD_TCP": f"127.0.0.1:{self.clamd_port}",
        }
        self.var = tmp / "app-var"  # the image's /app/var (PORTAL_VAR_DIR)

    # --- what the file says, with this machine's addresses -------------------------------------------------
    def environment(self, name: str) -> dict[str, str]:
        service = SERVICES[name]
        assert service.get("env_file") == ".env"
        compose = {key: interpolate(value, self.dot_env) for key, value in service["environment"].items()}
        for key in MAPPED:
            self.check_address(key, compose[key])
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "HOME": str(self.tmp),
            "LANG": "C.UTF-8",
            **self.dot_env,  # env_file: .env
            **compose,  # environment: wins over env_file, as in Compose
            **{key: self.local[key] for key in MAPPED},
            "PORTAL_VAR_DIR": str(self.var),
            "HOSTNAME": socket.gethostname(),  # in a container, the container's host name
            "PYTHONUNBUFFERED": "1",
        }
        if name in self.web_ports:
            env["GUNICORN_BIND"] = f"127.0.0.1:{self.web_ports[name]}"  # the image's default is 0.0.0.0:8000
        return env

    @staticmethod
    def check_address(key: str, value: str) -> None:
        """A mapped value names a provided service of the file, at the port that service listens on."""
        target = urlsplit(value) if "://" in value else urlsplit(f"tcp://{value}")
        expected = {"DATABASE_URL": ("postgres", 5432), "CLAMD_TCP": ("clamav", 3310)}.get(key, ("valkey", 6379))
        assert (target.hostname, target.port) == expected, (key, value)
        assert target.hostname in SERVICES

    def command(self, name: str, words: list[str]) -> list[str]:
        words = [interpolate(word, self.dot_env) for word in words]
        # Paths inside the container that are this test's folder here.
        return [word.replace("/tmp/", f"{self.tmp}/") for word in words]

    def healthcheck(self, name: str) -> list[str]:
        test = self.command(name, SERVICES[name]["healthcheck"]["test"])
        if name in self.web_ports:
            test = [word.replace("127.0.0.1:8000", f"127.0.0.1:{self.web_ports[name]}") for word in test]
        kind, *rest = test
        return ["sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest

    # --- running it ------------------------------------------------------------------------------------------
    def build_static(self, collected: Path) -> None:
        """What the image's build leaves in /app/var/static: the output of its static step, scripts/collectstatic.sh
        (the run makes it once, tests/cluster/conftest.py), copied as each image has its own."""
        shutil.copytree(collected, self.var / "static")

    def run_once(self, name: str) -> subprocess.CompletedProcess:
        words = self.command(name, SERVICES[name]["command"])
        return subprocess.run(words, cwd=ROOT, env=self.environment(name), capture_output=True, text=True, timeout=300)

    def start(self, name: str) -> None:
        words = self.command(name, SERVICES[name]["command"])
        self.logs[name] = self.tmp / f"{name}.log"
        with self.logs[name].open("wb") as log:
            self.processes[name] = subprocess.Popen(
                words, cwd=ROOT, env=self.environment(name), stdout=log, stderr=subprocess.STDOUT
            )

    def healthy(self, name: str, *, within: float) -> bool:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            process = self.processes.get(name)
            assert process is None or process.poll() is None, f"{name} ended: {self.log(name)}"
            check = subprocess.run(
                self.healthcheck(name), cwd=ROOT, env=self.environment(name), capture_output=True, timeout=60
            )
            if check.returncode == 0:
                return True
            time.sleep(1)
        return False

    def start_clamd(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="clamd-compose-"))
        conf = (
            (clamav.HERE / "clamd.conf")
            .read_text()
            .replace("@DIR@", str(folder))
            .replace("@DB@", str(clamav.HERE / "db"))
        )
        conf += f"TCPSocket {self.clamd_port}\nTCPAddr 127.0.0.1\n"
        (folder / "clamd.conf").write_text(conf)
        process = subprocess.Popen(
            [clamav.CLAMD, "-c", str(folder / "clamd.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.clamd = clamav.Daemon(folder=folder, process=process)
        deadline = time.monotonic() + 60
        while not clamav._pong(self.clamd.socket):
            assert process.poll() is None and time.monotonic() < deadline, "clamd did not start"
            time.sleep(0.1)

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")[-3000:] if name in self.logs else ""

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.clamd is not None:
            clamav.stop(self.clamd)


def get(url: str, *, host: str) -> tuple[int, bytes]:
    """A request as nginx passes it on: the public host name, the client's address, https."""
    headers = {"Host": host, "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http://127.0.0.1 only)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (http://127.0.0.1 only)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow(45)
@needs_services
@pytest.mark.django_db(transaction=True)
def test_the_compose_files_services_start_in_their_order_and_become_healthy(
    moto_endpoint,  # noqa: F811
    collected_static,  # noqa: F811
    tmp_path,
):
    stack = Stack(tmp_path, endpoint=moto_endpoint)
    names = order()
    web = [name for name in names if SERVICES[name]["command"][0] == "gunicorn"]
    assert len(web) == 2
    stack.web_ports = {name: free_port() for name in web}
    stack.var.mkdir()
    host = stack.dot_env["ALLOWED_HOSTS"].split(",")[0]
    try:
        stack.build_static(collected_static)
        for name in names:
            service = SERVICES[name]
            if "clamav" in service.get("depends_on", {}) and stack.clamd is None:
                # Everything before this ran without clamd: the web nodes are healthy while it is away.
                for node in web:
                    status, body = get(f"http://127.0.0.1:{stack.web_ports[node]}/readyz", host=host)
                    assert status == 200, body
                    assert json.loads(body)["reported"]["clamd"]["status"] == "down"
                stack.start_clamd()
            if service.get("restart") == "no":
                result = stack.run_once(name)
                assert result.returncode == 0, f"{name}: {result.stdout[-2000:]}{result.stderr[-3000:]}"
                continue
            stack.start(name)
            assert stack.healthy(name, within=180), f"{name} did not become healthy: {stack.log(name)}"

        # Both replicas serve a member's start page from the same image's static files.
        status, page = get(f"http://127.0.0.1:{stack.web_ports[web[0]]}/", host=host)
        assert status == 200, page[:2000]
        static = re.findall(rb'/static/[^"\']+\.[0-9a-f]{12}\.css', page)
        assert static, "the page names no hashed stylesheet"
        for node in web:
            status, _ = get(f"http://127.0.0.1:{stack.web_ports[node]}{static[0].decode()}", host=host)
            assert status == 200, node
        status, body = get(f"http://127.0.0.1:{stack.web_ports[web[1]]}/readyz", host=host)
        assert status == 200
        assert json.loads(body)["reported"]["storage"]["status"] == "ok"
    finally:
        stack.stop()
        shutil.rmtree(stack.var, ignore_errors=True)


def test_the_order_follows_depends_on_and_only_addresses_are_this_machines():
    names = order()
    assert names.index("migrate") < names.index("web-1") and names.index("storage-setup") < names.index("web-2")
    for name in names:
        environment = SERVICES[name]["environment"]
        assert set(environment) >= MAPPED, name
        for key in MAPPED:
            Stack.check_address(key, interpolate(environment[key], dot_env({"S3_ENDPOINT_URL": "https://s3.example"})))
