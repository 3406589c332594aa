"""Member pages of the uploads app: the draft with autosave and uploads, review, transmission and receipt."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor
from core.http import attachment_response
from pins.auth import member_logout, member_required

from . import selectors, services, tus
from .constants import SCAN_REFUSED
from .exceptions import DraftConflict, TransmitError, UploadError
from .files import name_sanitize
from .forms import DraftForm, TransmitForm
from .receipt import receipt_pdf

RECEIPT_COOKIE = "uploads_receipt"
RECEIPT_SALT = "uploads.receipt"


def member_api(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """member_required for script requests: 401 with a message instead of a redirect to the login page."""
    guarded = member_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        response = guarded(request, *args, **kwargs)
        if getattr(request, "member", None) is None and response.status_code == 302:
            return JsonResponse(
                {"message": _("Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.")}, status=401
            )
        return response

    return wrapper


def _actor(request: HttpRequest) -> Actor:
    return Actor.member(request.user)


def _saved_message(draft) -> str:
    return _("Gespeichert um %(time)s Uhr") % {"time": time_format(timezone.localtime(draft.updated_at), "H:i")}


def _error_list(form) -> list[tuple[str, str]]:
    """(field id, message) for each error of the form's visible fields, in field order, for the error summary."""
    return [
        (form[name].id_for_label, str(error))
        for name in form.fields
        if name in form.errors and not form[name].is_hidden
        for error in form.errors[name]
    ]


def _draft_context(request: HttpRequest, draft, form: DraftForm | None = None) -> dict:
    uploads = selectors.draft_uploads(draft=draft)
    resumable = [
        {
            "url": tus.upload_url(request, upload),
            "fingerprint": upload.fingerprint,
            "name": upload.name,
            "offset": upload.offset,
            "length": upload.length,
        }
        for upload in uploads
        if not upload.is_complete and upload.fingerprint
    ]
    form = form or DraftForm(instance=draft, initial={"version": draft.version})
    return {
        "draft": draft,
        "form": form,
        "errors": _error_list(form) if form.is_bound else [],
        "uploads": uploads,
        "resumable": resumable,
        "chunk_size": settings.UPLOAD_CHUNK_SIZE,
        "max_file_mb": settings.UPLOAD_MAX_FILE_SIZE // 2**20,
        "max_draft_mb": settings.UPLOAD_MAX_DRAFT_SIZE // 2**20,
        "max_files": settings.UPLOAD_MAX_DRAFT_FILES,
    }


@member_required
def draft_edit(request: HttpRequest) -> HttpResponse:
    """The draft page; its form posts here to "save for later" when JavaScript is off."""
    draft = services.draft_get_or_create(member=request.member)
    if request.method != "POST":
        response = render(request, "uploads/draft.html", _draft_context(request, draft))
        if RECEIPT_COOKIE in request.COOKIES:
            # A member session on this browser after someone transmitted: that receipt is not theirs to see.
            response.delete_cookie(RECEIPT_COOKIE, path=reverse("uploads:draft"), samesite="Strict")
        return response
    form = DraftForm(request.POST, instance=draft)
    form.is_valid()
    version = form.cleaned_data.get("version")
    if version is None:
        messages.error(request, _("Die Seite war veraltet. Bitte geben Sie Ihre Änderung noch einmal ein."))
        return redirect("uploads:draft")
    try:
        draft = services.draft_autosave(draft=draft, version=version, fields=form.valid_fields(), actor=_actor(request))
    except DraftConflict as conflict:
        messages.error(request, conflict.message)
        return redirect("uploads:draft")
    if form.errors:
        form = DraftForm(request.POST, instance=draft)
        form.data = form.data.copy()
        form.data["version"] = draft.version
        form.is_valid()
        # The error summary and the save status say what was not saved; no third message.
        return render(request, "uploads/draft.html", _draft_context(request, draft, form), status=400)
    messages.success(request, _saved_message(draft))
    return redirect("uploads:draft")


@require_POST
@member_api
def draft_autosave(request: HttpRequest) -> HttpResponse:
    """Autosave from the page script: JSON with the new version, 409 when another tab saved in between."""
    draft = selectors.draft_for_member(member=request.member)
    if draft is None:
        return JsonResponse({"message": _("Es gibt keinen Entwurf mehr.")}, status=404)
    form = DraftForm(request.POST, instance=draft)
    form.is_valid()
    version = form.cleaned_data.get("version")
    if version is None:
        return JsonResponse({"message": _("Die Seite war veraltet. Bitte laden Sie sie neu.")}, status=400)
    try:
        draft = services.draft_autosave(draft=draft, version=version, fields=form.valid_fields(), actor=_actor(request))
    except DraftConflict as conflict:
        return JsonResponse({"message": str(conflict.message), "version": conflict.current_version}, status=409)
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items() if name != "version"}
    message = _saved_message(draft)
    if errors:
        message = _("%(saved)s. Einige Angaben sind noch nicht gültig und wurden nicht gespeichert.") % {
            "saved": message
        }
    return JsonResponse({"version": draft.version, "message": message, "errors": errors})


@require_GET
@member_required
def file_list(request: HttpRequest) -> HttpResponse:
    """The draft's file list as an HTML fragment, so the page script can refresh it after an upload."""
    draft = services.draft_get_or_create(member=request.member)
    return render(request, "uploads/_file_list.html", {"uploads": selectors.draft_uploads(draft=draft)})


@require_GET
@member_api
def file_states(request: HttpRequest) -> HttpResponse:
    """Where each complete file of the draft stands in its check (JSON), for js/file_state.js to poll."""
    draft = services.draft_get_or_create(member=request.member)
    files = [upload for upload in selectors.draft_uploads(draft=draft) if upload.is_complete]
    response = JsonResponse(
        {
            "files": [
                {
                    "id": str(upload.public_id),
                    "state": upload.scan_status,
                    "checking": upload.is_checking,
                    "html": render_to_string("uploads/_file_state.html", {"file": upload}, request=request),
                }
                for upload in files
            ]
        }
    )
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def file_upload(request: HttpRequest) -> HttpResponse:
    """The plain upload form (without JavaScript); an announced oversize body is refused before it is read."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    announced = int(request.META.get("CONTENT_LENGTH") or 0)
    # The multipart envelope adds a little to the file; anything beyond that cannot fit the limit.
    if announced > settings.UPLOAD_MAX_FILE_SIZE + 64 * 1024:
        return _file_upload_too_large(request)
    return _file_upload_checked(request)


@member_required
def _file_upload_too_large(request: HttpRequest) -> HttpResponse:
    messages.error(
        request,
        _("Die Datei ist zu groß. Erlaubt sind höchstens %(max)s MB je Datei.")
        % {"max": settings.UPLOAD_MAX_FILE_SIZE // 2**20},
    )
    response = redirect("uploads:draft")
    response.status_code = 303
    return response


@csrf_protect
@member_required
def _file_upload_checked(request: HttpRequest) -> HttpResponse:
    chosen = request.FILES.getlist("file")
    if not chosen:
        messages.error(request, _("Bitte wählen Sie eine Datei aus."))
        return redirect("uploads:draft")
    draft = services.draft_get_or_create(member=request.member)
    for uploaded in chosen:
        try:
            upload = services.upload_store(
                draft=draft, name=uploaded.name, fileobj=uploaded, size=uploaded.size, actor=_actor(request)
            )
        except UploadError as error:
            messages.error(request, f"{name_sanitize(uploaded.name)}: {error.message}")
        else:
            messages.success(request, _("%(name)s wurde hochgeladen.") % {"name": upload.name})
    return redirect("uploads:draft")


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
        messages.error(request, error.message)
        return redirect("uploads:draft")
    return attachment_response(chunks, name=upload.name, mime_type=upload.mime_type)


@require_POST
@member_required
def file_delete(request: HttpRequest, public_id) -> HttpResponse:
    upload = selectors.upload_for_member(member=request.member, public_id=public_id)
    if upload is None:
        raise Http404
    services.upload_delete(upload=upload, actor=_actor(request))
    messages.success(request, _("%(name)s wurde entfernt.") % {"name": upload.name})
    return redirect("uploads:draft")


# --- tus ----------------------------------------------------------------------------------------------------


@csrf_protect
@member_api
def tus_collection(request: HttpRequest) -> HttpResponse:
    """OPTIONS: what the server supports. POST (creation): announce an upload, get its URL."""
    if request.method == "OPTIONS":
        return tus.tus_options()
    if request.method != "POST":
        return HttpResponseNotAllowed(["OPTIONS", "POST"])
    if refused := tus.version_refused(request):
        return refused
    length = tus.header_int(request, "Upload-Length")
    if length is None:
        return tus.tus_response(400, message=_("Die Dateigröße fehlt oder ist ungültig."))
    try:
        metadata = tus.parse_metadata(request.headers.get("Upload-Metadata", ""))
    except ValueError:
        return tus.tus_response(400, message=_("Die Angaben zur Datei sind ungültig."))
    draft = services.draft_get_or_create(member=request.member)
    try:
        upload = services.upload_create(
            draft=draft,
            name=metadata.get("filename", ""),
            length=length,
            fingerprint=metadata.get("fingerprint", ""),
            actor=_actor(request),
        )
    except UploadError as error:
        return tus.tus_response(error.status, message=error.message)
    response = tus.tus_response(201, upload=upload)
    response["Location"] = tus.upload_url(request, upload)
    return response


@csrf_protect
@member_api
def tus_upload(request: HttpRequest, public_id) -> HttpResponse:
    """HEAD: the offset to resume from. PATCH: the next bytes. DELETE: cancel and remove (termination)."""
    if request.method == "OPTIONS":
        return tus.tus_options()
    if request.method not in ("HEAD", "PATCH", "DELETE"):
        return HttpResponseNotAllowed(["OPTIONS", "HEAD", "PATCH", "DELETE"])
    if refused := tus.version_refused(request):
        return refused
    upload = selectors.upload_for_member(member=request.member, public_id=public_id)
    if upload is None:
        return tus.tus_response(404, message=_("Diese Datei gibt es nicht."))
    if request.method == "DELETE":
        services.upload_delete(upload=upload, actor=_actor(request))
        return tus.tus_response(204)
    try:
        services.upload_ensure_live(upload=upload)
    except UploadError as error:
        return tus.tus_response(error.status, message=error.message)
    if request.method == "HEAD":
        return tus.tus_response(200, upload=upload)
    if request.content_type != tus.OFFSET_CONTENT_TYPE:
        return tus.tus_response(415, message=_("Falscher Inhaltstyp für einen Upload-Teil."))
    offset = tus.header_int(request, "Upload-Offset")
    if offset is None:
        return tus.tus_response(400, message=_("Die Angabe Upload-Offset fehlt."))
    try:
        upload = services.upload_append(
            upload=upload,
            offset=offset,
            stream=request,
            content_length=tus.header_int(request, "Content-Length"),
            actor=_actor(request),
        )
    except UploadError as error:
        response = tus.tus_response(error.status, message=error.message)
        if error.status == 409:
            upload.refresh_from_db(fields=["offset"])
            response["Upload-Offset"] = str(upload.offset)
        return response
    response = tus.tus_response(204, upload=upload)
    response["Upload-Complete"] = "1" if upload.is_complete else "0"
    return response


# --- review, transmission, receipt --------------------------------------------------------------------------


@member_required
def review(request: HttpRequest) -> HttpResponse:
    """Everything the member is about to send, with the confirmation checkbox."""
    draft = services.draft_get_or_create(member=request.member)
    return render(request, "uploads/review.html", _review_context(draft, TransmitForm()))


def _review_context(draft, form: TransmitForm, error: str = "") -> dict:
    errors = _error_list(form) if form.is_bound else []
    if error and not errors:
        errors = [("review-summary", error)]
    return {
        "draft": draft,
        "uploads": selectors.draft_uploads(draft=draft),
        "contact_changes": _contact_rows(draft),
        "form": form,
        "errors": errors,
    }


def _contact_rows(draft) -> list[tuple[str, str]]:
    labels = {name: DraftForm.base_fields[name].label for name in DraftForm.Meta.fields}
    return [(labels[name], value) for name, value in draft.contact_changes.items()]


@require_POST
@member_required
def transmit(request: HttpRequest) -> HttpResponse:
    """Transmit once: the draft becomes a submission, all PINs end, the session ends; then the receipt page."""
    draft = selectors.draft_for_member(member=request.member)
    if draft is None:
        return redirect("uploads:draft")
    form = TransmitForm(request.POST)
    try:
        submission = services.draft_transmit(draft=draft, actor=_actor(request), confirmed=form.is_valid())
    except TransmitError as error:
        return render(request, "uploads/review.html", _review_context(draft, form, str(error.message)), status=400)
    member_logout(request)
    response = redirect("uploads:done")
    response.set_signed_cookie(
        RECEIPT_COOKIE,
        str(submission.pk),
        salt=RECEIPT_SALT,
        max_age=settings.RECEIPT_AVAILABLE_MINUTES * 60,
        path=reverse("uploads:draft"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def _receipt_submission(request: HttpRequest):
    """The submission named by the signed, short-lived receipt cookie, while its receipt is available."""
    try:
        submission_id = int(
            request.get_signed_cookie(
                RECEIPT_COOKIE, salt=RECEIPT_SALT, max_age=settings.RECEIPT_AVAILABLE_MINUTES * 60
            )
        )
    except (KeyError, signing.BadSignature, ValueError):
        return None
    submission = selectors.submission_for_receipt(submission_id=submission_id)
    if submission is None or submission.receipt_available_until <= timezone.now():
        return None
    return submission


@require_GET
def done(request: HttpRequest) -> HttpResponse:
    """The confirmation after transmission: the reference number and the receipt link (no session needed)."""
    submission = _receipt_submission(request)
    response = render(request, "uploads/done.html", {"submission": submission}, status=200 if submission else 410)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def receipt(request: HttpRequest) -> HttpResponse:
    """The receipt PDF, for a short time after transmission, to the browser that transmitted."""
    submission = _receipt_submission(request)
    if submission is None:
        raise Http404
    pdf = receipt_pdf(submission=submission)
    return attachment_response(
        [pdf], name=f"Quittung-{submission.reference}.pdf", mime_type="application/pdf", size=len(pdf)
    )
