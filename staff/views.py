"""Case workers' pages in the admin's style: the inbox of transmitted submissions, detail, download, export."""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import Actor
from core.http import attachment_response, staff_view
from core.net import client_ip
from core.search_token import SEARCH_PARAM, search_token_read, search_token_store
from uploads.exceptions import DocumentNotReady, FileUnavailable
from uploads.models import Draft, Submission
from uploads.selectors import submission_document_get, submission_documents, submission_get, submission_list
from uploads.services import submission_set_status

from .forms import SubmissionFilterForm, SubmissionStatusForm
from .services import submission_document_download, submission_export

INBOX_PAGE_SIZE = 50


def _render(request: HttpRequest, template: str, title: str, **context) -> HttpResponse:
    return TemplateResponse(request, template, {**admin.site.each_context(request), "title": title, **context})


def _submission(reference: str) -> Submission:
    submission = submission_get(reference=reference)
    if submission is None:
        raise Http404
    return submission


@require_http_methods(["GET", "POST"])
@staff_view("uploads.view_submission")
def inbox(request: HttpRequest) -> HttpResponse:
    """Filters travel in the URL; the search term (a KVNR, say) is posted and kept behind a token (core.search_token)."""
    if request.method == "POST":
        query = QueryDict(mutable=True)
        for name in ("reason", "status", "date_from", "date_to"):
            if request.POST.get(name):
                query[name] = request.POST[name]
        term = request.POST.get("q", "").strip()
        if term:
            query[SEARCH_PARAM] = search_token_store(request=request, term=term)
        return redirect(f"{reverse('staff:inbox')}?{query.urlencode()}" if query else reverse("staff:inbox"))
    data = request.GET.copy()
    data.pop("q", None)  # a term in the URL is never used, so no link or bookmark carries one
    data["q"] = search_token_read(request=request, token=request.GET.get(SEARCH_PARAM))
    form = SubmissionFilterForm(data)
    filters = form.cleaned_data if form.is_valid() else {}
    submissions = submission_list(
        reason=filters.get("reason"),
        status=filters.get("status") or None,
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        search=filters.get("q", ""),
    )
    page = Paginator(submissions, INBOX_PAGE_SIZE).get_page(request.GET.get("seite"))
    query = request.GET.copy()
    query.pop("seite", None)
    query.pop("q", None)
    return _render(request, "staff/inbox/list.html", _("Posteingang"), form=form, page=page, query=query.urlencode())


def _contact_rows(submission) -> list[tuple[str, str]]:
    """The contact changes with the labels the member saw on the form, never the raw field keys."""
    labels = {
        field.name: str(field.verbose_name) for field in Draft._meta.get_fields() if hasattr(field, "verbose_name")
    }
    return [(labels.get(name, name), value) for name, value in submission.contact_changes.items()]


@require_GET
@staff_view("uploads.view_submission")
def submission_detail(request: HttpRequest, reference: str) -> HttpResponse:
    submission = _submission(reference)
    user = request.user
    return _render(
        request,
        "staff/inbox/detail.html",
        _("Vorgang %(reference)s") % {"reference": submission.reference},
        submission=submission,
        contact_changes=_contact_rows(submission),
        documents=submission_documents(submission=submission),
        status_form=SubmissionStatusForm(initial={"status": submission.status, "note": submission.status_note})
        if user.has_perm("uploads.change_submission")
        else None,
        may_download=user.has_perm("uploads.download_submissiondocument"),
    )


@require_POST
@staff_view("uploads.change_submission")
def submission_status(request: HttpRequest, reference: str) -> HttpResponse:
    submission = _submission(reference)
    form = SubmissionStatusForm(request.POST)
    if form.is_valid():
        submission_set_status(
            submission=submission,
            status=form.cleaned_data["status"],
            note=form.cleaned_data["note"],
            actor=Actor.staff(request.user),
        )
        messages.success(request, _("Der Bearbeitungsstand ist gespeichert."))
    else:
        messages.error(request, _("Bitte wählen Sie einen gültigen Bearbeitungsstand."))
    return redirect(reverse("staff:submission", args=[submission.reference]))


@require_GET
@staff_view("uploads.download_submissiondocument")
def document_download(request: HttpRequest, reference: str, document_id) -> HttpResponse:
    submission = _submission(reference)
    document = submission_document_get(submission=submission, public_id=document_id)
    if document is None:
        raise Http404
    try:
        chunks = submission_document_download(document=document, actor=Actor.staff(request.user), ip=client_ip(request))
    except (DocumentNotReady, FileUnavailable) as error:
        messages.error(request, error.message)
        return redirect(reverse("staff:submission", args=[submission.reference]))
    return attachment_response(chunks, name=document.name, mime_type=document.mime_type, size=document.size)


@require_POST
@staff_view("uploads.download_submissiondocument")
def submission_export_view(request: HttpRequest, reference: str) -> HttpResponse:
    submission = _submission(reference)
    try:
        result = submission_export(submission=submission, actor=Actor.staff(request.user), ip=client_ip(request))
    except (DocumentNotReady, FileUnavailable) as error:  # an export to storage reads every document first
        messages.error(request, error.message)
        return redirect(reverse("staff:submission", args=[submission.reference]))
    if result.stream is not None:
        return attachment_response(result.stream, name=result.filename, mime_type=result.content_type)
    messages.success(request, _("Der Vorgang ist exportiert (%(target)s).") % {"target": result.target})
    return redirect(reverse("staff:submission", args=[submission.reference]))
