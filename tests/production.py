"""The environment of a production start (PORTAL_PRODUCTION=1) for tests that start the settings in a subprocess."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The variables production cannot start without, apart from the services (docs/configuration.md).
INSURER = {
    "INSURER_NAME": "Prüfkasse Nord",
    "INSURER_HOTLINE_PHONE": "040 66969 123",
    "INSURER_HOTLINE_HOURS": "Mo-Fr 8-18 Uhr",
    "INSURER_POSTAL_ADDRESS": "Prüfweg 2,00000 Prüfstadt",
    "INSURER_IMPRINT_URL": "https://pruefkasse.example/impressum",
    "INSURER_PRIVACY_CONTACT": "datenschutz@pruefkasse.example",
}
SERVICES = ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL")
# Dropped from the test process's environment: a deployment never has them.
DROPPED = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}


def production_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """Production with this test run's services; without them (the embedded test mode) it opts in to SQLite,
    the in-process cache and eager tasks, which production otherwise refuses."""
    env = {key: value for key, value in os.environ.items() if key not in DROPPED and not key.startswith("INSURER_")}
    env.update(
        {
            "PORTAL_PRODUCTION": "1",
            "DEBUG": "0",
            "SECRET_KEY": "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789!@#%^&*") for _ in range(60)),
            "ALLOWED_HOSTS": "portal.example",
            "PORTAL_PUBLIC_URL": "https://portal.example",
            "FILE_ENCRYPTION_KEYS": "k1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "PORTAL_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            **INSURER,
        }
    )
    if not all(env.get(name) for name in SERVICES):
        env["PORTAL_ALLOW_EMBEDDED_SERVICES"] = "1"
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def start_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Loads the settings (django.setup()) in a fresh interpreter with env."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
