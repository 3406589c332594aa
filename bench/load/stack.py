"""A private production-like stack on loopback: own PostgreSQL cluster, own Redis, gunicorn, Celery worker and beat."""

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


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

    def __init__(self, name: str):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.tmp = Path(tempfile.mkdtemp(prefix=f"portal-{name}-"))
        self.logs = RESULTS / f"{name}-{stamp}"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pg_port, self.redis_port, self.web_port = free_port(), free_port(), free_port()
        self.pgdata = self.tmp / "pgdata"
        self.private = self.tmp / "var" / "private"
        self.staging = self.tmp / "var" / "staging"
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
            "STAGING_ROOT": str(self.staging),
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

    def _spawn(self, name: str, args: list[str], append: bool = False) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def python(self, module: str, *args: str) -> None:
        subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=self.env, check=True)

    def web_start(self) -> None:
        self._spawn(
            "gunicorn", [str(VENV_BIN / "gunicorn"), "portal.wsgi:application", "-c", "deploy/gunicorn.conf.py"]
        )
        wait_port(self.web_port)

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
        for folder in (self.private, self.staging):
            folder.mkdir(parents=True, exist_ok=True)
        self.pg_init()
        self.redis_start()
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
        for name in ("beat", "worker", "gunicorn", "monitor", "redis"):
            self.stop(name)
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg_stop()
        for folder in (self.private, self.staging):
            subprocess.run(["umount", "-q", str(folder)], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)
