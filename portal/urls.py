"""URL routes of the portal: the member pages, uploads, the print shop, staff admin and language switching."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("druckerei/", include("letters.urls")),
    path("mitarbeiter/", include("staff.urls")),
    path("antrag/", include("uploads.urls")),
    path("", include("web.urls")),
]
