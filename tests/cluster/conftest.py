"""Fixtures for the cluster test: two gunicorn nodes with separate local folders behind Debian's nginx, on S3."""

import os
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

import pytest
from django.db import connection

from tests.loopback import free_port, wait_port
from tests.s3.conftest import CREDENTIALS, bucket, moto_endpoint  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class Cluster:
    """Started by the test, stopped by it: every process by its own pid."""

    def __init__(self, tmp: Path, *, endpoint: str, bucket_name: str):
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        self.node_ports = [free_port(), free_port()]
        self.port = free_port()
        database = connection.settings_dict
        self.env = {
            **os.environ,
            **CREDENTIALS,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/"
                f"{database['NAME']}"
            ),
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": bucket_name,
            "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": CREDENTIALS["AWS_DEFAULT_REGION"],
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        for index, port in enumerate(self.node_ports, start=1):
            var = self.tmp / f"node{index}"
            var.mkdir()
            env = {
                **self.env,
                "PORTAL_VAR_DIR": str(var),
                "PRIVATE_MEDIA_ROOT": str(var / "private"),
            }
            command = [
                str(Path(sys.executable).with_name("gunicorn")),
                "portal.wsgi:application",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
                "--no-control-socket",
                "--access-logfile",
                str(self.tmp / f"node{index}-access.log"),
                "--error-logfile",
                str(self.tmp / f"node{index}-error.log"),
            ]
            self._spawn(command, env=env, port=port)
        (self.tmp / "client_body").mkdir()
        template = Template((Path(__file__).with_name("nginx.conf.template")).read_text())
        config = self.tmp / "nginx.conf"
        config.write_text(
            template.substitute(
                user_line="user root;" if os.geteuid() == 0 else "",
                tmp=self.tmp,
                node1=self.node_ports[0],
                node2=self.node_ports[1],
                port=self.port,
            )
        )
        self._spawn([NGINX, "-p", str(self.tmp), "-c", str(config), "-g", "daemon off;"], env=self.env, port=self.port)
        if self.env.get("CELERY_BROKER_URL"):
            # The worker that scans and disarms each completed file, as in production (its own folder, same S3).
            var = self.tmp / "worker"
            var.mkdir()
            command = [
                str(Path(sys.executable).with_name("celery")),
                "-A", "portal", "worker", "-l", "warning", "-c", "1",
                "--without-heartbeat", "--without-gossip", "--without-mingle",
            ]  # fmt: skip
            log = (self.tmp / "worker.out").open("wb")
            env = {**self.env, "PORTAL_VAR_DIR": str(var), "PRIVATE_MEDIA_ROOT": str(var / "private")}
            self.processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))

    def _spawn(self, command: list[str], *, env: dict, port: int) -> None:
        log = (self.tmp / f"{Path(command[0]).name}-{port}.out").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        wait_port(port, seconds=60, process=process)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def access_log(self, index: int) -> str:
        return (self.tmp / f"node{index}-access.log").read_text()


@pytest.fixture
def cluster(tmp_path, moto_endpoint, bucket):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("the nodes share the test database, which needs PostgreSQL (DATABASE_URL)")
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (apt-get install nginx; .ci/run does)")
    started = Cluster(tmp_path, endpoint=moto_endpoint, bucket_name=bucket)
    try:
        started.start()
        yield started
    finally:
        started.stop()
