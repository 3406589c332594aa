"""URL routes of the portal: the member pages, uploads, the print shop, staff admin and language switching."""

from django.contrib import admin
from django.urls import include, path

from ops import views as ops_views

urlpatterns = [
    # Probes and metrics (ops.middleware.ProbeMiddleware answers them first; the routes make them reversible).
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("druckerei/", include("letters.urls")),
    path("mitarbeiter/", include("staff.urls")),
    path("antrag/", include("uploads.urls")),
    path("", include("web.urls")),
]

# Error pages a member understands; a database outage becomes the 503 "try again" page (web/errors.py).
handler400 = "web.errors.bad_request"
handler403 = "web.errors.permission_denied"
handler404 = "web.errors.page_not_found"
handler500 = "web.errors.server_error"
