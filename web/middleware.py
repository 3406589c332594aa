"""Ends member sessions after their idle timeout or lifetime (rules in pins.session), on every request, server-side."""

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from pins.session import is_member_session, member_session_state, member_session_touch


class MemberSessionMiddleware:
    """Each request of a member session counts as activity; an expired session is logged out and redirected.

    For a live member session it sets `request.member_session` (a SessionState), which the base template uses
    to start the page script that warns before the idle timeout. Place it after the session and auth middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_member_session(request):
            ended = member_session_touch(request=request)
            if ended:
                return HttpResponseRedirect(f"{reverse('web:signed_out')}?{urlencode({'grund': ended})}")
            request.member_session = member_session_state(request=request)
        return self.get_response(request)
