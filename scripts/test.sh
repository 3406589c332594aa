#!/usr/bin/env bash
# The whole check, as CI runs it: install what the tests need, lint, migrations check, then the test suite.
# Extra arguments go to pytest. With DATABASE_URL / CELERY_BROKER_URL / CACHE_URL unset it runs on SQLite, the
# in-process cache and eager Celery, and skips what needs PostgreSQL or Redis; .ci/run runs it both ways.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh test
. .venv/bin/activate

# With PYTHONDONTWRITEBYTECODE set, Python caches no bytecode, and uv installs none: every process the tests start
# (xdist workers, gunicorn nodes, Celery workers, manage.py, the benches) would compile Django, botocore and the
# rest from source again, about 4 s of CPU each. Compile the virtualenv's packages once (a quick check afterwards).
if [ -n "${PYTHONDONTWRITEBYTECODE:-}" ]; then
    echo "== bytecode"
    python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null
fi
# The portal's own modules and pytest's rewritten test modules are cached too (in the ignored __pycache__/), so
# the dozens of processes of one run, and the second run of .ci/run, compile them once.
unset PYTHONDONTWRITEBYTECODE

echo "== ruff"
ruff check .
ruff format --check .
echo "== migrations"
python manage.py makemigrations --check --dry-run
echo "== tests"
pytest "$@"
