"""Shared set-up for benchmarks: Django on a throw-away test database (DATABASE_URL's server, or SQLite)."""

import os
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
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)

    def teardown() -> None:
        connection.creation.destroy_test_db(name, verbosity=0)

    return teardown
