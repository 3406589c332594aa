#!/usr/bin/env bash
# Installs what the portal needs on Debian: system packages (as root, when missing), the virtualenv, the
# pinned Python packages and the compiled translations. `bootstrap.sh test` adds what the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
packages="libmagic1 libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core gettext"
if [ "$mode" = test ]; then
    packages="$packages chromium poppler-utils"
fi
missing=""
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    else
        echo "These Debian packages are missing:$missing" >&2
        echo "Install them with: sudo apt-get install$missing" >&2
        exit 1
    fi
fi

# Python 3.11, 3.12 or 3.13 (pyproject's requires-python; the locks resolve for each): $PYTHON, else the first of
# python3.11 (what the image and CI use), python3.12, python3.13 and python3 that is one of them (Debian 12's
# python3 is 3.11, Debian 13's is 3.13).
supported() { "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; }
python=${PYTHON:-}
if [ -z "$python" ]; then
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null && supported "$(command -v "$candidate")"; then
            python=$(command -v "$candidate")
            break
        fi
    done
fi
if [ -z "$python" ] || ! supported "$python"; then
    echo "Python 3.11, 3.12 or 3.13 is needed; found $("${python:-python3}" --version 2>&1 || echo none)." \
        "Set PYTHON=/path/to/python3.1x." >&2
    exit 1
fi
if [ -x .venv/bin/python ] && ! supported .venv/bin/python; then
    echo ".venv was made with $(.venv/bin/python --version 2>&1), which is not supported; remove .venv and run again." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    # Debian's own Python needs python3.1x-venv for `-m venv` (it brings ensurepip).
    venv_package=$("$python" -c 'import sys; print("python3.%d-venv" % sys.version_info[1])')
    if ! "$python" -c 'import ensurepip' 2>/dev/null; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$venv_package" >/dev/null
        else
            echo "Python's venv module is missing. Install it with: sudo apt-get install $venv_package" >&2
            exit 1
        fi
    fi
    "$python" -m venv .venv
fi

# The project runs from this folder (manage.py), so only its locked dependencies are installed, each checked
# against its hash: the runtime lock to run, runtime + dev to test (scripts/lock.sh writes them). uv installs
# them several times faster than pip; it is itself installed first with pip from its own hashed lock.
# Reinstall only when the lock changed.
lock=requirements/prod.txt
if [ "$mode" = test ]; then
    lock=requirements/dev.txt
fi
stamp=.venv/.portal-installed
wanted=$(cat "$lock" requirements/uv.txt | sha256sum | cut -d' ' -f1)
# The test install (runtime + dev) holds everything the runtime lock asks for: starting the portal after the tests
# installs nothing.
with_dev=$(cat requirements/dev.txt requirements/uv.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$mode" != test ] && [ "$(cat "$stamp")" = "$with_dev" ]; then
    wanted=$with_dev
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    log=$(mktemp)
    echo "Installing the Python packages of $lock ..."
    if ! .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements/uv.txt >"$log" 2>&1 \
        || ! .venv/bin/uv pip install -q --python .venv/bin/python --require-hashes -r "$lock" >>"$log" 2>&1; then
        echo "uv failed; installing with pip instead" >&2
        if ! .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r "$lock" >"$log" 2>&1; then
            grep -v "^WARNING: Location" "$log" >&2
            exit 1
        fi
    fi
    rm -f "$log"
    echo "$wanted" > "$stamp"
fi
.venv/bin/python manage.py compilemessages -v0 --ignore=.venv
