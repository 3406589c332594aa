"""The portal's URLs plus a bare template view, the floor the member pages are compared against."""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from bench import _argon2_meter
from portal.urls import urlpatterns as portal_urlpatterns

_argon2_meter.install()  # only with BENCH_ARGON2_CPU_DIR set (bench/login_http.py)

_BARE = engines["django"].from_string("<!DOCTYPE html><title>bare</title><p>{{ text }}</p>")


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_BARE.render({"text": "bare"}, request))


urlpatterns = [path("bench/bare/", bare), *portal_urlpatterns]
