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
# No services at build time, and placeholders for the insurer's required values (the pages are not rendered here).
export PORTAL_ALLOW_EMBEDDED_SERVICES=1 INSURER_NAME=build INSURER_HOTLINE_PHONE="0800 000 0000"
export INSURER_HOTLINE_HOURS=build INSURER_POSTAL_ADDRESS=build INSURER_IMPRINT_URL=https://build.invalid
export INSURER_PRIVACY_CONTACT=build
exec python manage.py collectstatic --noinput -v0 "$@"
