"""Shared set-up for benchmarks: Django on a throw-away test database (DATABASE_URL's server, or SQLite).

With BENCH_TEMPLATE_DATABASE naming a migrated PostgreSQL database, the throw-away database is a copy of it
(CREATE DATABASE ... TEMPLATE) instead of a fresh migration; tests/bench uses this to run each bench small.
"""

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def setup_test_database():
    """Create a fresh test database (like the test suite does) and return a function that drops it."""
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    template = os.environ.get("BENCH_TEMPLATE_DATABASE", "")
    if template and connection.vendor == "postgresql":
        return _copy_of_template(connection, template)
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    def teardown() -> None:
        connection.creation.destroy_test_db(name, verbosity=0)

    return teardown


def _copy_of_template(connection, template: str):
    """test_<NAME> as a copy of the migrated database `template`; returns a function that drops it."""
    from django.conf import settings

    name = f"test_{connection.settings_dict['NAME']}"
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    connection.close()
    settings.DATABASES["default"]["NAME"] = connection.settings_dict["NAME"] = name

    def teardown() -> None:
        connection.close()
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return teardown


def sqlite_from_template(path: Path) -> None:
    """With BENCH_TEMPLATE_SQLITE naming a migrated SQLite file, start the bench's database `path` as its copy
    (the bench's own `migrate` then has nothing to do)."""
    template = os.environ.get("BENCH_TEMPLATE_SQLITE", "")
    if template and not path.exists():
        shutil.copyfile(template, path)
