"""URL routes of the staff app: the case workers' inbox (behind the admin's two-factor login)."""

from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("eingang/", views.inbox, name="inbox"),
    path("eingang/<str:reference>/", views.submission_detail, name="submission"),
    path("eingang/<str:reference>/status/", views.submission_status, name="submission_status"),
    path("eingang/<str:reference>/export/", views.submission_export_view, name="submission_export"),
    path("eingang/<str:reference>/dokumente/<uuid:document_id>/", views.document_download, name="document"),
]
