"""URL routes of the uploads app: the draft, resumable uploads (tus), review, transmission, receipt."""

from django.urls import path

from .views import draft, files, transmission, tus

app_name = "uploads"

urlpatterns = [
    path("", draft.draft_edit, name="draft"),
    path("speichern/", draft.draft_autosave_view, name="autosave"),
    path("dateien/", files.file_list, name="file_list"),
    path("dateien/status/", files.file_states, name="file_states"),
    path("dateien/hochladen/", files.file_upload, name="file_upload"),
    path("dateien/<uuid:public_id>/", files.file_download, name="file_download"),
    path("dateien/<uuid:public_id>/entfernen/", files.file_delete, name="file_delete"),
    path("dokumente/", files.photo_document_arrange, name="photo_document"),
    path("uploads/", tus.tus_collection, name="tus"),
    path("uploads/<uuid:public_id>/", tus.tus_upload, name="tus_upload"),
    path("pruefen/", transmission.review, name="review"),
    path("uebermitteln/", transmission.transmit, name="transmit"),
    path("bestaetigung/", transmission.done, name="done"),
    path("quittung/", transmission.receipt, name="receipt"),
]
