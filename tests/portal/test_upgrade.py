"""The upgrade check: the previous release's code still works on this release's schema (expand, then contract).

During an upgrade the new release's `migrate` runs while the previous release still serves members (two web
nodes behind one proxy, one of them not yet replaced). A migration that drops or renames a column the old code
reads, or adds a NOT NULL column without a database default, breaks the old nodes' logins and autosaves. This
test unpacks the previous release (deploy/previous-release, a commit of main's history) into a temporary folder,
migrates a new database with THIS release's migrations, and runs the previous release's own login and autosave
tests against that database with pytest-django's --reuse-db (so the old code's migrate has nothing to apply and
its queries meet the new schema), in the same virtualenv.
"""

import io
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import environ
import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PREVIOUS_RELEASE = BASE_DIR / "deploy" / "previous-release"
# The previous release's tests of the member's login and autosave, chosen by name.
OLD_TESTS = ["tests/web/test_views.py", "tests/uploads/test_views.py", "tests/uploads/test_services.py"]
SELECTION = "login or signs_in or autosave"
MINIMUM_PASSED = 15


def previous_commit() -> str:
    lines = [line.strip() for line in PREVIOUS_RELEASE.read_text().splitlines()]
    commits = [line for line in lines if line and not line.startswith("#")]
    assert len(commits) == 1 and re.fullmatch(r"[0-9a-f]{7,40}", commits[0]), "deploy/previous-release: one commit id"
    return commits[0]


def git(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(BASE_DIR), *args], capture_output=True, check=False, **kwargs)


def test_previous_release_file_names_one_commit():
    assert previous_commit()


def database_url(name: str) -> str:
    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    auth = config["USER"] + (f":{config['PASSWORD']}" if config.get("PASSWORD") else "")
    return f"postgres://{auth}@{config['HOST']}:{config['PORT'] or 5432}/{name}"


def recreate_database(name: str, *, drop_only: bool = False) -> None:
    import psycopg

    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    with psycopg.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            admin.execute(f'CREATE DATABASE "{name}"')


@pytest.mark.slow(35)
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="the upgrade check needs PostgreSQL (DATABASE_URL): pytest-django keeps no SQLite test database",
)
def test_previous_release_logs_in_and_autosaves_on_this_releases_schema(tmp_path):
    commit = previous_commit()
    if git("cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        shallow = git("rev-parse", "--is-shallow-repository", text=True).stdout.strip() == "true"
        pytest.skip(
            f"the previous release {commit} is not in this checkout's git history"
            + (" (a shallow clone: run `git fetch --unshallow`)" if shallow else " (no git history here)")
        )
    archive = git("archive", "--format=tar", commit)
    assert archive.returncode == 0, archive.stderr.decode()
    previous = tmp_path / "previous"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(previous, filter="data")

    # pytest-django's test database for DATABASE_URL .../<name> is test_<name>; the new code migrates it first.
    name = environ.Env.db_url_config(os.environ["DATABASE_URL"])["NAME"] + "_upgrade"
    test_database = f"test_{name}"[:63]
    recreate_database(test_database)
    try:
        base_env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "DJANGO"))}
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=BASE_DIR,
            env={**base_env, "DATABASE_URL": database_url(test_database), "PORTAL_VAR_DIR": str(tmp_path / "var-new")},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]

        # The previous release runs with this release's packages: where a package was replaced by one with the
        # same API (pillow-heif by its decoder-only build pi-heif), the old import name is given to it.
        compat = tmp_path / "compat"
        (compat / "pillow_heif").mkdir(parents=True)
        (compat / "pillow_heif" / "__init__.py").write_text(
            "import pi_heif\nfrom pi_heif import *  # noqa: F403\n\n\ndef __getattr__(name):\n"
            "    return getattr(pi_heif, name)\n"
        )
        old = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "--reuse-db",
                "-k",
                SELECTION,
                *OLD_TESTS,
            ],
            cwd=previous,
            env={
                **base_env,
                "PYTHONPATH": os.pathsep.join([str(previous), str(compat)]),
                "DATABASE_URL": database_url(name),
                "PORTAL_VAR_DIR": str(tmp_path / "var-old"),
            },
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        summary = old.stdout[-6000:] + old.stderr[-2000:]
        assert old.returncode == 0, "the previous release fails on this release's schema:\n" + summary
        passed = re.search(r"(\d+) passed", old.stdout)
        assert passed and int(passed.group(1)) >= MINIMUM_PASSED, summary
        # The previous release's tests and code ran (its folder is pytest's rootdir and first on the path).
        assert f"rootdir: {previous}" in old.stdout
    finally:
        recreate_database(test_database, drop_only=True)
