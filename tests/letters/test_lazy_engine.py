"""A Django process that sets no letter does not load WeasyPrint or pypdf (about 0.7 s of CPU per process: every
gunicorn worker, Celery process and manage.py command); the first letter loads them."""

import os
import subprocess
import sys

from django.conf import settings

CHECK = """
import os, sys
import django
django.setup()
import portal.urls, letters.services, campaigns.services, uploads.services, staff.services  # noqa
print(sorted(name for name in ("weasyprint", "pypdf") if name in sys.modules))
from letters.rendering import renderer
renderer()
print(sorted(name for name in ("weasyprint",) if name in sys.modules))
"""


def test_weasyprint_and_pypdf_load_with_the_first_letter_not_with_django():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["[]", "['weasyprint']"]
