"""The cluster nodes' settings: the portal's, with production's static storage reading what scripts/collectstatic.sh
wrote (the nodes run without PORTAL_PRODUCTION: no TLS secrets, clamd or insurer identity to provide)."""

from portal.settings import *  # noqa: F403
from portal.settings import STATICFILES_PRODUCTION_STORAGE, STORAGES

STORAGES = {**STORAGES, "staticfiles": STATICFILES_PRODUCTION_STORAGE}
WHITENOISE_USE_FINDERS = False
