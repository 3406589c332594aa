"""What the member views of the uploads app share: the script guard, the actor, the draft, messages, errors."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from audit.services import Actor
from pins.session import member_required

from .. import services
from ..models import Draft


def member_api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """member_required for script requests: 401 with a message instead of a redirect to the login page."""
    guarded = member_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = guarded(request, *args, **kwargs)
        if getattr(request, "member", None) is None and response.status_code == 302:
            return json_message(_("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an."), status=401)
        return response

    return wrapper


def member_actor(request: HttpRequest) -> Actor:
    """The logged-in member as the actor of the audit rows a write records."""
    return Actor.member(request.user)


def member_draft(request: HttpRequest) -> Draft:
    """The logged-in member's draft, created empty on first use."""
    return services.draft_get_or_create(member=request.member)


def json_message(message, *, status: int, **data) -> JsonResponse:
    """A JSON answer for the page script: the member's message and any further fields."""
    return JsonResponse({"message": str(message), **data}, status=status)


def to_draft(request: HttpRequest, *, error: str = "", success: str = "", status: int = 302) -> HttpResponse:
    """Back to the draft page (303 after a file post), with a message for the member."""
    if error:
        messages.error(request, error)
    if success:
        messages.success(request, success)
    response = redirect("uploads:draft")
    response.status_code = status
    return response


def error_list(form) -> list[tuple[str, str]]:
    """(field id, message) for each error of the form's visible fields, in field order, for the error summary."""
    return [
        (form[name].id_for_label, str(error))
        for name in form.fields
        if name in form.errors and not form[name].is_hidden
        for error in form.errors[name]
    ]
