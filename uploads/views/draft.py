"""The draft page: the form with its files, saved for later without JavaScript and autosaved by the page script."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from pins.session import member_required

from .. import selectors, services, tus
from ..exceptions import DraftConflict
from ..forms import DraftForm
from ..models import Draft
from ._common import error_list, json_message, member_actor, member_api, member_draft, to_draft
from .transmission import receipt_cookie_clear


class _StalePage(Exception):
    """The post carries no usable version: the page is older than the draft's form (or was altered)."""


def _save_posted(request: HttpRequest, draft: Draft) -> tuple[DraftForm, Draft]:
    """Autosave the posted form's valid fields; the form keeps the others' errors. Raises _StalePage or
    DraftConflict (another tab saved in between)."""
    form = DraftForm(request.POST, instance=draft)
    form.is_valid()
    version = form.cleaned_data.get("version")
    if version is None:
        raise _StalePage
    draft = services.draft_autosave(
        draft=draft, version=version, fields=form.valid_fields(), actor=member_actor(request)
    )
    return form, draft


def _saved_message(draft: Draft) -> str:
    return _("Gespeichert um %(time)s Uhr") % {"time": time_format(timezone.localtime(draft.updated_at), "H:i")}


def _draft_context(request: HttpRequest, draft: Draft, form: DraftForm | None = None) -> dict:
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
    photo_documents = [
        {
            "key": str(document.public_id),
            "title": document.title,
            "pages": [
                {
                    "id": str(page.public_id),
                    "name": page.name,
                    "rotation": page.rotation,
                    "url": reverse("uploads:file_download", args=[page.public_id]),
                }
                for page in document.ordered_pages
            ],
        }
        for document in selectors.draft_photo_documents(draft=draft)
    ]
    return {
        "draft": draft,
        "form": form,
        "errors": error_list(form) if form.is_bound else [],
        "uploads": uploads,
        "resumable": resumable,
        "photo_documents": photo_documents,
        "reasons": selectors.reason_list(),
        "chunk_size": settings.UPLOAD_CHUNK_SIZE,
        "max_file_mb": settings.UPLOAD_MAX_FILE_SIZE // 2**20,
        "max_draft_mb": settings.UPLOAD_MAX_DRAFT_SIZE // 2**20,
        "max_files": settings.UPLOAD_MAX_DRAFT_FILES,
    }


def _with_errors(request: HttpRequest, draft: Draft) -> DraftForm:
    """The posted form again, at the saved draft's version, so the page shows what was not saved."""
    form = DraftForm(request.POST, instance=draft)
    form.data = form.data.copy()
    form.data["version"] = draft.version
    form.is_valid()
    return form


@member_required
def draft_edit(request: HttpRequest) -> HttpResponse:
    """The draft page; its form posts here to "save for later" when JavaScript is off."""
    draft = member_draft(request)
    if request.method != "POST":
        response = render(request, "uploads/draft.html", _draft_context(request, draft))
        receipt_cookie_clear(request, response)
        return response
    try:
        form, draft = _save_posted(request, draft)
    except _StalePage:
        return to_draft(request, error=_("Die Seite war veraltet. Bitte geben Sie Ihre Änderung noch einmal ein."))
    except DraftConflict as conflict:
        return to_draft(request, error=conflict.message)
    if form.errors:
        # The error summary and the save status say what was not saved; no third message.
        context = _draft_context(request, draft, _with_errors(request, draft))
        return render(request, "uploads/draft.html", context, status=400)
    return to_draft(request, success=_saved_message(draft))


@require_POST
@member_api
def draft_autosave_view(request: HttpRequest) -> HttpResponse:
    """Autosave from the page script: JSON with the new version, 409 when another tab saved in between."""
    draft = selectors.draft_for_member(member=request.member)
    if draft is None:
        return json_message(_("Es gibt keinen Entwurf mehr."), status=404)
    try:
        form, draft = _save_posted(request, draft)
    except _StalePage:
        return json_message(_("Die Seite war veraltet. Bitte laden Sie sie neu."), status=400)
    except DraftConflict as conflict:
        return json_message(conflict.message, status=409, version=conflict.current_version)
    errors = {name: [str(e) for e in errs] for name, errs in form.errors.items() if name != "version"}
    message = _saved_message(draft)
    if errors:
        message = _("%(saved)s. Einige Angaben sind noch nicht gültig und wurden nicht gespeichert.") % {
            "saved": message
        }
    return json_message(message, status=200, version=draft.version, errors=errors)
