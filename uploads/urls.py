"""URL routes of the uploads app: the draft, resumable uploads (tus), review, transmission, receipt."""

from django.urls import path

from . import views

app_name = "uploads"

urlpatterns = [
    path("", views.draft_edit, name="draft"),
    path("speichern/", views.draft_autosave, name="autosave"),
    path("dateien/", views.file_list, name="file_list"),
    path("dateien/status/", views.file_states, name="file_states"),
    path("dateien/hochladen/", views.file_upload, name="file_upload"),
    path("dateien/<uuid:public_id>/", views.file_download, name="file_download"),
    path("dateien/<uuid:public_id>/entfernen/", views.file_delete, name="file_delete"),
    path("uploads/", views.tus_collection, name="tus"),
    path("uploads/<uuid:public_id>/", views.tus_upload, name="tus_upload"),
    path("pruefen/", views.review, name="review"),
    path("uebermitteln/", views.transmit, name="transmit"),
    path("bestaetigung/", views.done, name="done"),
    path("quittung/", views.receipt, name="receipt"),
]
