"""Settings for benchmark servers: the portal's own settings plus the bench URLs (a bare template view)."""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
