#!/usr/bin/env bash
# Starts the portal on its embedded defaults (SQLite, Celery eager, local files) with demo data, on
# 127.0.0.1:8000, and prints how to log in as the demo member and as staff.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh run
. .venv/bin/activate
python manage.py migrate -v0
python manage.py demo
exec python manage.py runserver 127.0.0.1:8000
