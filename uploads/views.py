"""Member pages of the uploads app."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pins.auth import member_required

from . import selectors, services


@member_required
def draft_edit(request: HttpRequest) -> HttpResponse:
    draft = services.draft_get_or_create(member=request.member)
    return render(request, "uploads/draft.html", {"draft": draft, "uploads": selectors.draft_uploads(draft=draft)})
