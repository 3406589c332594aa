"""URL routes of the uploads app."""

app_name = "uploads"

urlpatterns: list = []
