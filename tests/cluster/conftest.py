"""Fixtures for the cluster tests: two gunicorn nodes (deploy/gunicorn.conf.py) with separate local folders behind
Debian's nginx running deploy/nginx.conf (TLS on a throw-away certificate), on S3, serving the static files that
scripts/collectstatic.sh (the image's static step) wrote with production's manifest storage."""

import concurrent.futures
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import urllib3
from django.db import connection

from tests.helpers import once_per_run
from tests.loopback import free_port, self_signed_certificate, wait_port
from tests.s3.conftest import CREDENTIALS, bucket, moto_endpoint  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class Cluster:
    """Started by the test, stopped by it: every process by its own pid."""

    def __init__(self, tmp: Path, *, endpoint: str, bucket_name: str, static_root: Path, gunicorn_args=()):
        self.tmp = tmp
        self.processes: list[subprocess.Popen] = []
        self.node_ports = [free_port(), free_port()]
        self.port = free_port()  # nginx's HTTPS port
        self.http_port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.static_root = static_root
        # Overrides of deploy/gunicorn.conf.py (gunicorn's command line wins over its config file), for measuring.
        self.gunicorn_args = list(gunicorn_args)
        database = connection.settings_dict
        self.env = {
            **os.environ,
            **CREDENTIALS,
            "DJANGO_SETTINGS_MODULE": "tests.cluster.settings",
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
            # nginx passes the host without its port (production listens on 443); the browser's Origin and
            # Referer name the test's port.
            "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{self.port}",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> None:
        for index, port in enumerate(self.node_ports, start=1):
            var = self.tmp / f"node{index}"
            var.mkdir()
            # Each node's STATIC_ROOT (PORTAL_VAR_DIR/static) holds the image's collected files, manifest included.
            (var / "static").symlink_to(self.static_root, target_is_directory=True)
            (var / "metrics").mkdir()
            env = {
                **self.env,
                "PORTAL_VAR_DIR": str(var),
                "PRIVATE_MEDIA_ROOT": str(var / "private"),
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "GUNICORN_WORKERS": "2",
                "GUNICORN_ACCESS_LOG": str(self.tmp / f"node{index}-access.log"),
                "PROMETHEUS_MULTIPROC_DIR": str(var / "metrics"),
            }
            command = [
                str(Path(sys.executable).with_name("gunicorn")),
                "portal.wsgi:application",
                "--config",
                str(ROOT / "deploy" / "gunicorn.conf.py"),
                *self.gunicorn_args,
            ]
            self._spawn(command, env=env, port=port)
        config = self.tmp / "nginx.conf"
        config.write_text(self.nginx_conf())
        self._spawn(
            [NGINX, "-p", str(self.tmp), "-c", str(config), "-g", f"daemon off; pid {self.tmp}/nginx.pid;"],
            env=self.env,
            port=self.port,
        )
        self._warm()
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

    def _warm(self) -> None:
        """Wait until each node's workers and their threads answer a page: a worker loads the portal after it
        listens and a thread opens its database connection on its first request, which takes a while on a busy
        machine, and a test's clock should not start before."""
        at_once = 8  # GUNICORN_WORKERS (2) x deploy/gunicorn.conf.py's threads (4)
        with concurrent.futures.ThreadPoolExecutor(max_workers=2 * at_once) as pool:
            for _round in range(2):
                pages = [
                    pool.submit(requests.get, f"http://127.0.0.1:{port}/anmelden/", timeout=180)
                    for port in self.node_ports
                    for _request in range(at_once)
                ]
                assert all(page.result().status_code == 200 for page in pages)

    def session(self) -> requests.Session:
        """A browser's session against nginx; the cluster's certificate is a throw-away one, not checked."""
        session = requests.Session()
        session.verify = False
        session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over verify=False
        session.headers["Referer"] = f"{self.base}/"  # as a browser sends it: HTTPS forms check it (CSRF)
        return session

    def nginx_conf(self) -> str:
        """deploy/nginx.conf with loopback ports, a throw-away certificate and this cluster's folders."""
        (self.tmp / "tls").mkdir()
        self_signed_certificate(self.tmp / "tls", common_name="localhost")
        conf = (ROOT / "deploy" / "nginx.conf").read_text()
        replacements = {
            "server web-1:8000": f"server 127.0.0.1:{self.node_ports[0]}",
            "server web-2:8000": f"server 127.0.0.1:{self.node_ports[1]}",
            "listen 80 default_server;": f"listen 127.0.0.1:{self.http_port} default_server;",
            "listen 443 ssl default_server;": f"listen 127.0.0.1:{self.port} ssl default_server;",
            "/etc/nginx/tls/": f"{self.tmp}/tls/",
            # root + /static/…: the folder that holds "static", as /srv holds the shared volume in production.
            "root /srv;": f"root {self.static_root.parent};",
        }
        for old, new in replacements.items():
            assert old in conf, old
            conf = conf.replace(old, new)
        # pytest's folders are private to their user: nginx's workers run as that user, not as nobody.
        lines = ["user root;" if os.geteuid() == 0 else "", f"error_log {self.tmp}/nginx-error.log warn;"]
        conf = "\n".join(lines) + "\n" + conf
        for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            conf = conf.replace("http {", f"http {{\n    {temp}_temp_path {self.tmp}/{temp};", 1)
        return conf

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


def collect_static(var_dir: Path) -> Path:
    """Run the image's static step (scripts/collectstatic.sh) into var_dir/static and return that folder."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [str(ROOT / "scripts" / "collectstatic.sh")],
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}", "PORTAL_VAR_DIR": str(var_dir)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return var_dir / "static"


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> Path:
    """The static files as the production image has them, written once per run (the image is built once too):
    collectstatic compresses every file with gzip and brotli, about 8 s of CPU. Tests only read them."""
    return once_per_run(tmp_path_factory, "image", collect_static) / "static"


@pytest.fixture
def cluster_options() -> dict:
    """Keyword arguments for Cluster; a test overrides this fixture to run the nodes differently."""
    return {}


@pytest.fixture
def cluster(tmp_path, moto_endpoint, bucket, collected_static, cluster_options):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("the nodes share the test database, which needs PostgreSQL (DATABASE_URL)")
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed (apt-get install nginx; .ci/run does)")
    # The certificate is a throw-away one made for the test; the clients do not check it.
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    started = Cluster(
        tmp_path, endpoint=moto_endpoint, bucket_name=bucket, static_root=collected_static, **cluster_options
    )
    try:
        started.start()
        yield started
    finally:
        started.stop()
