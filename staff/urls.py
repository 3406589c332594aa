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
    path("eingang/<str:reference>/dokumente/<uuid:document_id>/ansehen/", views.document_viewer, name="viewer"),
    path(
        "eingang/<str:reference>/dokumente/<uuid:document_id>/seiten/<int:number>/",
        views.document_page_image,
        name="viewer_page",
    ),
    path("eingang/<str:reference>/dokumente/<uuid:document_id>/vorschau/", views.document_thumbnail, name="thumbnail"),
]
