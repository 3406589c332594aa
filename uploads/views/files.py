"""The draft's files without the tus protocol: the list and check states for the page script, the plain upload
form, download and removal."""

import json
import uuid

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from core.http import attachment_response
from pins.session import member_required

from .. import selectors, services
from ..constants import SCAN_REFUSED
from ..exceptions import FileTooLarge, UploadError
from ..files import name_sanitize
from ._common import json_message, member_actor, member_api, member_draft, to_draft

# The multipart envelope adds a little to the file; a body announced beyond the limit plus this cannot fit.
MULTIPART_ALLOWANCE = 64 * 1024


@require_GET
@member_required
def file_list(request: HttpRequest) -> HttpResponse:
    """The draft's file list as an HTML fragment, so the page script can refresh it after an upload."""
    return render(request, "uploads/_file_list.html", {"uploads": selectors.draft_uploads(draft=member_draft(request))})


@require_GET
@member_api
def file_states(request: HttpRequest) -> HttpResponse:
    """Where each complete file of the draft stands in its check (JSON), for js/file_state.js to poll."""
    uploads = selectors.draft_uploads(draft=member_draft(request))
    response = JsonResponse({"files": [_file_state(request, upload) for upload in uploads if upload.is_complete]})
    response["Cache-Control"] = "no-store"
    return response


def _file_state(request: HttpRequest, upload) -> dict:
    return {
        "id": str(upload.public_id),
        "state": upload.scan_status,
        "checking": upload.is_checking,
        "html": render_to_string("uploads/_file_state.html", {"file": upload}, request=request),
    }


@csrf_exempt
def file_upload(request: HttpRequest) -> HttpResponse:
    """The plain upload form (without JavaScript); an announced oversize body is refused before it is read."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    announced = int(request.META.get("CONTENT_LENGTH") or 0)
    if announced > settings.UPLOAD_MAX_FILE_SIZE + MULTIPART_ALLOWANCE:
        return _file_upload_too_large(request)
    return _file_upload_checked(request)


@member_required
def _file_upload_too_large(request: HttpRequest) -> HttpResponse:
    return to_draft(request, error=FileTooLarge().message, status=303)


@csrf_protect
@member_required
def _file_upload_checked(request: HttpRequest) -> HttpResponse:
    chosen = request.FILES.getlist("file")
    if not chosen:
        return to_draft(request, error=_("Bitte wählen Sie eine Datei aus."))
    draft = member_draft(request)
    for uploaded in chosen:
        try:
            upload = services.upload_store(
                draft=draft, name=uploaded.name, fileobj=uploaded, size=uploaded.size, actor=member_actor(request)
            )
        except UploadError as error:
            messages.error(request, f"{name_sanitize(uploaded.name)}: {error.message}")
        else:
            messages.success(request, _("%(name)s wurde hochgeladen.") % {"name": upload.name})
    return to_draft(request)


@require_GET
@member_required
def file_download(request: HttpRequest, public_id) -> HttpResponse:
    """The member's own complete file, decrypted, as an attachment that is never cached."""
    upload = selectors.upload_for_member(member=request.member, public_id=public_id)
    if upload is None or not upload.is_complete or upload.scan_status in SCAN_REFUSED:
        raise Http404
    try:
        chunks = services.upload_open(upload=upload)
    except UploadError as error:
        return to_draft(request, error=error.message)
    return attachment_response(chunks, name=upload.name, mime_type=upload.mime_type)


@require_POST
@member_required
def file_delete(request: HttpRequest, public_id) -> HttpResponse:
    """The member removes one of their files (complete or not) from the draft."""
    upload = selectors.upload_for_member(member=request.member, public_id=public_id)
    if upload is None:
        raise Http404
    services.upload_delete(upload=upload, actor=member_actor(request))
    return to_draft(request, success=_("%(name)s wurde entfernt.") % {"name": upload.name})


def _arrangement(request: HttpRequest) -> tuple[uuid.UUID, str, list[tuple[uuid.UUID, int]]]:
    """The posted arrangement of a document made of photos; ValueError when it is not one."""
    data = json.loads(request.body)
    pages = data.get("pages")
    if not isinstance(pages, list) or len(pages) > settings.UPLOAD_MAX_DRAFT_FILES:
        raise ValueError("pages")
    title = data.get("title", "")
    if not isinstance(title, str):
        raise ValueError("title")
    arranged = []
    for page in pages:
        rotation = page.get("rotation", 0) if isinstance(page, dict) else None
        if not isinstance(rotation, int) or isinstance(rotation, bool):
            raise ValueError("rotation")
        arranged.append((uuid.UUID(str(page.get("id")), version=4), rotation))
    return uuid.UUID(str(data.get("key")), version=4), title, arranged


@require_POST
@csrf_protect
@member_api
def photo_document_arrange(request: HttpRequest) -> HttpResponse:
    """The page script's arrangement of a document made of photos (JSON: key, title, pages [{id, rotation}]):
    saved as a whole each time; the answer names the document as it will be sent."""
    try:
        key, title, pages = _arrangement(request)
    except (ValueError, TypeError, AttributeError, RecursionError):  # RecursionError: JSON nested too deep
        return json_message(_("Die Angaben zu den Seiten sind ungültig."), status=400)
    try:
        document = services.photo_document_arrange(
            draft=member_draft(request), key=key, title=title, pages=pages, actor=member_actor(request)
        )
    except UploadError as error:
        return json_message(error.message, status=error.status)
    return json_message("", status=200, title=document.title if document else "", pages=len(pages))
