"""URL routes of the letters app: the print shop's queue, batch collection, re-release and the specimen letter."""

from django.urls import path

from . import views

app_name = "letters"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("abholen/", views.collect, name="collect"),
    path("auftrag/<int:batch_id>/abholen/", views.collect_prepared, name="collect_prepared"),
    path("freigeben/", views.release, name="release"),
    path("musterbrief/", views.specimen, name="specimen"),
]
