"""Fixtures for the bench smoke tests: each bench runs small as its own process, on a copy of a migrated database.

The benches create their own throw-away databases; here they start from a template migrated once per run and
shared by the xdist workers (BENCH_TEMPLATE_DATABASE for PostgreSQL, BENCH_TEMPLATE_SQLITE for the benches on
SQLite), so that a smoke test spends its time in the bench and not in `migrate`. PINs hash with the cheapest Argon2id: the smoke
tests check that each bench did its work, never how fast.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.helpers import once_per_run

ROOT = Path(__file__).resolve().parents[2]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
CHEAP_ARGON2 = {"PIN_ARGON2_TIME_COST": "1", "PIN_ARGON2_MEMORY_KIB": "8", "PIN_ARGON2_PARALLELISM": "1"}


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else ""


def _admin(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(urlparse(url)._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(statement)


def _migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=600)


POSTGRES_TEMPLATE = "bench-postgres-template"  # its folder in the run's temporary folder names the database


@pytest.fixture(scope="session")
def bench_postgres_template(tmp_path_factory):
    """A migrated PostgreSQL database for the whole run (the first worker that needs it migrates it, the others
    wait): the benches copy it. The run drops it when it ends (drop_postgres_template, from tests/conftest.py)."""
    url = postgres_url()
    if not url:
        return ""

    def make(folder: Path) -> None:
        name = f"{urlparse(url).path.strip('/')}_benchtpl"
        _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(url, f'CREATE DATABASE "{name}"')
        (folder / "database").write_text(name)
        _migrate({**os.environ, "DATABASE_URL": urlparse(url)._replace(path=f"/{name}").geturl()})

    return (once_per_run(tmp_path_factory, POSTGRES_TEMPLATE, make) / "database").read_text()


def drop_postgres_template(run_folder: Path) -> None:
    """Drop the run's PostgreSQL template if a worker made one (called once every worker has finished)."""
    database = run_folder / POSTGRES_TEMPLATE / "database"
    url = postgres_url()
    if url and database.exists():
        _admin(url, f'DROP DATABASE IF EXISTS "{database.read_text()}" WITH (FORCE)')


@pytest.fixture(scope="session")
def bench_sqlite_template(tmp_path_factory):
    """A migrated SQLite file for the whole run: the benches that run on SQLite (upload, letters) start from a
    copy of it."""
    env = {key: value for key, value in os.environ.items() if key not in ("CELERY_BROKER_URL",)}

    def make(folder: Path) -> None:
        _migrate({**env, "DATABASE_URL": f"sqlite:///{folder / 'migrated.sqlite3'}"})

    return once_per_run(tmp_path_factory, "bench-sqlite-template", make) / "migrated.sqlite3"


@pytest.fixture
def run_bench(request, tmp_path):
    """Run bench/<script> with arguments; returns its output. The bench's own checks fail it with their message."""

    def run(script: str, *args: str, database: str = "", timeout: float = 300) -> str:
        """database: "postgres" (skipped without it), "any" (PostgreSQL when configured, else SQLite) or
        "sqlite" (a bench that keeps its own SQLite file)."""
        env = {**os.environ, **CHEAP_ARGON2, "PYTHONUNBUFFERED": "1", "PORTAL_VAR_DIR": str(tmp_path / "var")}
        # No broker: what a bench enqueues runs in its own process (Celery eager), never in this run's queue.
        env["CELERY_BROKER_URL"] = ""
        if database == "postgres" and not postgres_url():
            pytest.skip("this bench needs PostgreSQL: set DATABASE_URL=postgres://...")
        if database in ("postgres", "any") and postgres_url():
            url = postgres_url()
            # The bench's databases get names of their own (test_<name> for the in-process benches), never
            # the test database of this run.
            env["DATABASE_URL"] = urlparse(url)._replace(path=f"{urlparse(url).path}_bench_{WORKER}").geturl()
            env["BENCH_TEMPLATE_DATABASE"] = request.getfixturevalue("bench_postgres_template")
        if database == "sqlite" or (database == "any" and not postgres_url()):
            env["BENCH_TEMPLATE_SQLITE"] = str(request.getfixturevalue("bench_sqlite_template"))
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / script), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"bench/{script} failed:\n{output[-4000:]}"
        return output

    return run
