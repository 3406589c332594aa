#!/usr/bin/env bash
# Starts the portal on its embedded defaults (SQLite, Celery eager, local files) with demo data, on
# 127.0.0.1:8000 (PORTAL_PORT to change it), and prints how to log in as the demo member and as staff.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORTAL_PORT:-8000}
# The demo command prints the portal's address (PORTAL_PUBLIC_URL, also the one in the letters): the port it runs on.
export PORTAL_PUBLIC_URL=${PORTAL_PUBLIC_URL:-http://127.0.0.1:$port}
started=$(date +%s)
step() { echo "==> [$1/4] $2"; }

if [ ! -f .venv/.portal-installed ]; then
    echo "First start: the virtualenv and the Python packages are installed once. That takes about half a"
    echo "minute here (uv), a minute or two where every package is downloaded first; later starts skip it."
fi
step 1 "Python packages and translations (scripts/bootstrap.sh)"
scripts/bootstrap.sh run
. .venv/bin/activate
step 2 "Database: migrations (SQLite under var/)"
python manage.py migrate -v0
step 3 "Demo data: members with fresh PINs, one staff user per role"
python manage.py demo
step 4 "Portal on http://127.0.0.1:$port after $(( $(date +%s) - started )) s; Ctrl-C stops it"
exec python manage.py runserver "127.0.0.1:$port"
