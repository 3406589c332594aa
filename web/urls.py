"""URL routes of the web app: the member's pages from the start page to the dashboard."""

from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.start, name="start"),
    path("anmelden/", views.login, name="login"),
    path("anmelden/pruefung/", views.login_challenge, name="login_challenge"),
    path("uebersicht/", views.dashboard, name="dashboard"),
    path("abmelden/", views.logout, name="logout"),
    path("abgemeldet/", views.signed_out, name="signed_out"),
    path("sitzung/verlaengern/", views.keepalive, name="keepalive"),
    path("sprache/", views.language, name="language"),
    path("datenschutz/", views.privacy, name="privacy"),
    path("impressum/", views.imprint, name="imprint"),
    path("barrierefreiheit/", views.accessibility, name="accessibility"),
    path("leichte-sprache/", views.easy_language, name="easy_language"),
]
