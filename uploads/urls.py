"""URL routes of the uploads app: the draft, resumable uploads (tus), review, transmission, receipt."""

from django.urls import path

from . import views

app_name = "uploads"

urlpatterns = [
    path("", views.draft_edit, name="draft"),
]
