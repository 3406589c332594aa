"""A private production-like stack on loopback: own PostgreSQL cluster, own Redis, gunicorn, Celery worker and beat."""

import base64
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from string import Template

from tests.loopback import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RESULTS = ROOT / "bench" / "results"


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Stack:
    """Every process here is started by this object and stopped by its pid; nothing shared is touched.

    `tmp` (a temporary directory) holds the database cluster, the storage folders and anything secret (the seed
    file with PINs, the database dump); `logs` (under bench/results/) holds the logs, kept after the run.
    """

    def __init__(self, name: str, *, nodes: int = 1, s3: bool = False):
        self.nodes = nodes
        self.s3 = s3
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.tmp = Path(tempfile.mkdtemp(prefix=f"portal-{name}-"))
        self.logs = RESULTS / f"{name}-{stamp}"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg_port, self.redis_port, self.web_port = free_port(), free_port(), free_port()
        self.pgdata = self.tmp / "pgdata"
        self.private = self.tmp / "var" / "private"
        self.processes: dict[str, subprocess.Popen] = {}
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")},
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.pg_port}/portal",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CACHE_URL": f"redis://127.0.0.1:{self.redis_port}/1",
            "PORTAL_VAR_DIR": str(self.tmp / "var"),
            "PRIVATE_MEDIA_ROOT": str(self.private),
            "DEBUG": "0",
            # Production's values (PORTAL_PRODUCTION=1 is left off only because loopback has no TLS for its
            # Secure __Host- cookies).
            "CONN_MAX_AGE": "60",
            "SECRET_KEY": base64.urlsafe_b64encode(os.urandom(48)).decode(),
            "FILE_ENCRYPTION_KEYS": f"load1:{key}",
            "LOG_LEVEL": "INFO",
            "GUNICORN_BIND": f"127.0.0.1:{self.web_port}",
            # The beat hands waiting letter requests to the worker again after one minute instead of five.
            "LETTER_REQUEUE_AFTER_MINUTES": "1",
            "PYTHONUNBUFFERED": "1",
        }
        # S3 mode: moto's server behind a small TCP relay (bench.load.relay), so a fault can take the endpoint
        # away and bring it back without moto losing what it stores.
        self.moto_port = self.s3_port = 0
        if s3:
            self.moto_port, self.s3_port = free_port(), free_port()
            self.env.update(
                {
                    "STORAGE_BACKEND": "s3",
                    "S3_BUCKET": "portal",
                    "S3_ENDPOINT_URL": f"http://127.0.0.1:{self.s3_port}",
                    "S3_REGION": "eu-central-1",
                    "AWS_ACCESS_KEY_ID": "load",
                    "AWS_SECRET_ACCESS_KEY": base64.urlsafe_b64encode(os.urandom(18)).decode(),
                    "AWS_DEFAULT_REGION": "eu-central-1",
                }
            )
        # Several nodes: each its own gunicorn and its own local folders, behind nginx (round robin) on web_port.
        self.node_ports = [free_port() for _ in range(nodes)] if nodes > 1 else []

    # --- PostgreSQL --------------------------------------------------------------------------------------

    def _pg(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, stdout=subprocess.DEVNULL)

    def pg_init(self) -> None:
        self.pgdata.mkdir()
        shutil.chown(self.pgdata, "postgres", "postgres")
        self.tmp.chmod(0o755)
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.pgdata), "-A", "trust", "-U", "postgres", "--no-sync")
        self.pg_start()
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "portal"],
            check=True,
        )

    def pg_start(self) -> None:
        options = f"-p {self.pg_port} -k {self.pgdata} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.pgdata / "server.log"), "-o", options,
                 "-w", "start")  # fmt: skip

    def pg_stop(self, mode: str = "fast") -> None:
        self._pg(str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata), "-m", mode, "-w", "stop")

    def pg_dump(self, out: Path) -> None:
        with out.open("wb") as dump:
            subprocess.run(
                [str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres", "portal"],
                check=True,
                stdout=dump,
            )

    # --- Redis -------------------------------------------------------------------------------------------

    def redis_start(self) -> None:
        # No persistence: a stopped Redis loses its queue, the harder case for the letters' requeue.
        port = str(self.redis_port)
        args = ["--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.tmp)]
        self._spawn("redis", ["redis-server", *args])
        wait_port(self.redis_port)
        # Every command the broker and the cache see, for the leak scan.
        self._spawn("monitor", ["redis-cli", "-p", str(self.redis_port), "monitor"], append=True)

    def redis_stop(self) -> None:
        self.stop("monitor")
        self.stop("redis")

    # --- the portal's processes --------------------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], append: bool = False, env: dict | None = None) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, cwd=ROOT, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def python(self, module: str, *args: str) -> None:
        subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=self.env, check=True)

    def web_start(self) -> None:
        if not self.node_ports:
            self._spawn(
                "gunicorn", [str(VENV_BIN / "gunicorn"), "portal.wsgi:application", "-c", "deploy/gunicorn.conf.py"]
            )
            wait_port(self.web_port)
            return
        for index, port in enumerate(self.node_ports, start=1):
            var = self.tmp / f"node{index}"
            env = {
                **self.env,
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "PORTAL_VAR_DIR": str(var),
                "PRIVATE_MEDIA_ROOT": str(var / "private"),
            }
            command = [str(VENV_BIN / "gunicorn"), "portal.wsgi:application", "-c", "deploy/gunicorn.conf.py"]
            self._spawn(f"gunicorn-{index}", [*command, "--no-control-socket"], env=env)
            wait_port(port)
        self.nginx_start()

    def nginx_start(self) -> None:
        """Debian's nginx from the cluster test's template: round robin over the nodes, no stickiness."""
        template = (ROOT / "tests" / "cluster" / "nginx.conf.template").read_text()
        upstream = "\n        ".join(f"server 127.0.0.1:{port};" for port in self.node_ports)
        template = template.replace("server 127.0.0.1:$node1;\n        server 127.0.0.1:$node2;", upstream)
        nginx_dir = self.tmp / "nginx"
        (nginx_dir / "client_body").mkdir(parents=True, exist_ok=True)
        config = nginx_dir / "nginx.conf"
        config.write_text(
            Template(template).substitute(
                user_line="user root;" if os.geteuid() == 0 else "", tmp=nginx_dir, port=self.web_port
            )
        )
        self._spawn("nginx", ["/usr/sbin/nginx", "-p", str(nginx_dir), "-c", str(config), "-g", "daemon off;"])
        wait_port(self.web_port)

    def moto_start(self) -> None:
        self._spawn("moto", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.moto_port)])
        wait_port(self.moto_port)
        self.relay_start()
        self.manage("storage_setup")

    def relay_start(self) -> None:
        self._spawn("relay", [sys.executable, "-m", "bench.load.relay", str(self.s3_port), str(self.moto_port)])
        wait_port(self.s3_port)

    def worker_start(self) -> None:
        self._spawn(
            "worker",
            [str(VENV_BIN / "celery"), "-A", "portal", "worker", "-l", "INFO", "-c", "2", "-n", "load@%h"],
        )
        log = self.logs / "worker.log"
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes()[-200_000:]:
            if time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not become ready")
            time.sleep(0.2)

    def worker_pool_children(self) -> list[int]:
        return _children(self.processes["worker"].pid)

    def worker_kill(self) -> None:
        """SIGKILL the whole worker: its main process and its pool children, with no chance to clean up."""
        process = self.processes.pop("worker")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def beat_start(self) -> None:
        schedule = self.tmp / "beat-schedule"
        self._spawn("beat", [str(VENV_BIN / "celery"), "-A", "portal", "beat", "-l", "INFO", "-s", str(schedule)])

    def start(self) -> None:
        print(f"stack: {self.tmp} (logs in {self.logs})", flush=True)
        self.private.mkdir(parents=True, exist_ok=True)
        self.pg_init()
        self.redis_start()
        if self.s3:
            self.moto_start()
        self.manage("migrate", "-v0")
        self.web_start()
        self.worker_start()
        self.beat_start()

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def shutdown(self) -> None:
        nodes = [f"gunicorn-{index}" for index in range(1, len(self.node_ports) + 1)]
        for name in ("beat", "worker", "nginx", "gunicorn", *nodes, "monitor", "redis", "relay", "moto"):
            self.stop(name)
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_stop()
        subprocess.run(["umount", "-q", str(self.private)], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)
