#!/usr/bin/env bash
# Production's static step, the one the Dockerfile runs and tests/cluster serves from: collectstatic with the
# production storage (whitenoise's CompressedManifestStaticFilesStorage: hashed names, a manifest, gzip and
# brotli copies) into STATIC_ROOT (PORTAL_VAR_DIR/static). Build-only values stand in for the production secrets;
# nothing of them ends up in the files.
set -euo pipefail
cd "$(dirname "$0")/.."

export PORTAL_PRODUCTION=1 DEBUG=0
export SECRET_KEY=build-only-not-used-at-runtime-0123456789abcdefghijklmnop
export FILE_ENCRYPTION_KEYS=build:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
export PORTAL_PUBLIC_URL=https://build.invalid
exec python manage.py collectstatic --noinput -v0 "$@"
