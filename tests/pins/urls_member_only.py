"""A URL configuration for tests: one member-only view, and a login that uses pins.auth directly."""

from django.http import HttpResponse
from django.urls import include, path

from pins.auth import member_login, member_required
from pins.services import pin_verify
from web.services import member_session_start


@member_required
def member_only(request):
    return HttpResponse(f"hello {request.member.kvnr} via {request.member_pin.pk}")


def login(request):
    outcome = pin_verify(kvnr=request.POST["kvnr"], pin=request.POST["pin"], ip=None)
    if not outcome.ok:
        return HttpResponse(outcome.result, status=403)
    member_login(request, pin=outcome.pin)
    member_session_start(request=request)
    return HttpResponse("ok")


urlpatterns = [
    path("only/", member_only),
    path("login/", login, name="login"),
    path("", include("portal.urls")),
]
