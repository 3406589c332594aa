"""The tus endpoints: creation (POST), resume (HEAD), append (PATCH), termination (DELETE); the protocol is in
uploads.tus, the rules in uploads.services."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect

from .. import selectors, services, tus
from ..exceptions import OffsetMismatch, UploadError, UploadNotFound
from ..models import Upload
from ._common import member_actor, member_api, member_draft


def tus_endpoint(*methods: str) -> Callable:
    """A member's tus endpoint serving `methods`: the protocol's preamble first, an UploadError as its answer."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if refused := tus.request_refused(request, methods=methods):
                return refused
            try:
                return view(request, *args, **kwargs)
            except UploadError as error:
                return tus.tus_response(error.status, message=error.message)

        return csrf_protect(member_api(wrapper))

    return decorate


@tus_endpoint("POST")
def tus_collection(request: HttpRequest) -> HttpResponse:
    """OPTIONS: what the server supports. POST (creation): announce an upload, get its URL."""
    length, metadata = tus.creation_headers(request)
    upload = services.upload_create(
        draft=member_draft(request),
        name=metadata.get("filename", ""),
        length=length,
        fingerprint=metadata.get("fingerprint", ""),
        actor=member_actor(request),
    )
    response = tus.tus_response(201, upload=upload)
    response["Location"] = tus.upload_url(request, upload)
    return response


@tus_endpoint("HEAD", "PATCH", "DELETE")
def tus_upload(request: HttpRequest, public_id) -> HttpResponse:
    """HEAD: the offset to resume from. PATCH: the next bytes. DELETE: cancel and remove (termination)."""
    upload = selectors.upload_for_member(member=request.member, public_id=public_id)
    if upload is None:
        raise UploadNotFound(_("Diese Datei gibt es nicht."))
    if request.method == "DELETE":
        services.upload_delete(upload=upload, actor=member_actor(request))
        return tus.tus_response(204)
    if request.method == "HEAD":
        services.upload_ensure_live(upload=upload)
        return tus.tus_response(200, upload=upload)
    return _append(request, upload)  # upload_append refuses an expired upload from its locked row


def _append(request: HttpRequest, upload: Upload) -> HttpResponse:
    """PATCH: the request's bytes at its offset; on a wrong offset the answer says where the upload stands."""
    try:
        upload = services.upload_append(
            upload=upload,
            offset=tus.patch_offset(request),
            stream=request,
            content_length=tus.header_int(request, "Content-Length"),
            actor=member_actor(request),
        )
    except OffsetMismatch as error:
        upload.refresh_from_db(fields=["offset"])
        response = tus.tus_response(error.status, message=error.message)
        response["Upload-Offset"] = str(upload.offset)
        return response
    response = tus.tus_response(204, upload=upload)
    response["Upload-Complete"] = "1" if upload.is_complete else "0"
    return response
