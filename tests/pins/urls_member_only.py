"""A URL configuration for tests: one member-only view, and a login that uses pins.session directly."""

from django.http import HttpResponse
from django.urls import include, path

from pins.services import pin_verify
from pins.session import member_login, member_required


@member_required
def member_only(request):
    return HttpResponse(f"hello {request.member.kvnr} via {request.member_pin.pk}")


def login(request):
    outcome = pin_verify(kvnr=request.POST["kvnr"], pin=request.POST["pin"], ip=None)
    if not outcome.ok:
        return HttpResponse(outcome.result, status=403)
    member_login(request, pin=outcome.pin)
    return HttpResponse("ok")


urlpatterns = [
    path("only/", member_only),
    path("login/", login, name="login"),
    path("", include("portal.urls")),
]
