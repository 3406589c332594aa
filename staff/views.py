"""Case workers' pages in the admin's style: the inbox of transmitted submissions, detail, the document viewer,
download, export."""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.services import Actor
from core.http import attachment_response, private_response, staff_view
from core.net import client_ip
from core.search_token import SEARCH_PARAM, search_token_read, search_token_store
from uploads.exceptions import DocumentNotReady, FileUnavailable
from uploads.models import Draft, RenderedPage, Submission
from uploads.selectors import (
    submission_document_get,
    submission_documents,
    submission_get,
    submission_list,
    submission_thumbnails,
)
from uploads.services import submission_set_status

from .forms import SubmissionFilterForm, SubmissionStatusForm
from .services import (
    submission_document_download,
    submission_document_page,
    submission_document_view,
    submission_export,
)

INBOX_PAGE_SIZE = 50
VIEW_PERMISSION = "uploads.view_submissiondocument"
DOWNLOAD_PERMISSION = "uploads.download_submissiondocument"
# The viewer's zoom steps in percent of the page's width in its column (100: the page fits the column).
ZOOM_STEPS = (50, 75, 100, 150, 200)


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
    thumbnails = submission_thumbnails(submissions=page.object_list) if request.user.has_perm(VIEW_PERMISSION) else {}
    return _render(
        request,
        "staff/inbox/list.html",
        _("Posteingang"),
        form=form,
        page=page,
        query=query.urlencode(),
        rows=[(submission, thumbnails.get(submission.pk)) for submission in page.object_list],
    )


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
        may_download=user.has_perm(DOWNLOAD_PERMISSION),
        may_view=user.has_perm(VIEW_PERMISSION),
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


def _document(reference: str, document_id):
    submission = _submission(reference)
    document = submission_document_get(submission=submission, public_id=document_id)
    if document is None:
        raise Http404
    return submission, document


def _number(value: str | None, default: int = 1) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


# Why a document is not shown in the viewer (scanning.render's reasons), in the case worker's words.
REFUSED_REASONS = {
    "too_many_pages": gettext_lazy("Das Dokument hat mehr Seiten, als die Ansicht im Browser darstellt."),
    "page_too_large": gettext_lazy("Eine Seite des Dokuments ist zu groß für die Ansicht im Browser."),
    "too_complex": gettext_lazy("Das Dokument ist zu aufwendig für die Ansicht im Browser."),
    "unreadable": gettext_lazy("Das Dokument kann im Browser nicht dargestellt werden."),
}


@require_GET
@staff_view(VIEW_PERMISSION)
def document_viewer(request: HttpRequest, reference: str, document_id) -> HttpResponse:
    """One page of a document with its text; next / previous and zoom are plain links (viewer.js adds keys)."""
    submission, document = _document(reference, document_id)
    try:
        view = submission_document_view(
            document=document, actor=Actor.staff(request.user), number=_number(request.GET.get("seite")),
            ip=client_ip(request),
        )  # fmt: skip
    except (DocumentNotReady, FileUnavailable) as error:
        messages.error(request, error.message)
        return redirect(reverse("staff:submission", args=[submission.reference]))
    zoom = _number(request.GET.get("zoom"), 100)
    zoom = zoom if zoom in ZOOM_STEPS else 100
    here = reverse("staff:viewer", args=[submission.reference, document.public_id])
    count = len(view.pages)
    response = _render(
        request,
        "staff/inbox/viewer.html",
        _("%(name)s, Seite %(number)s von %(count)s") % {"name": document.name, "number": view.number, "count": count}
        if count
        else document.name,
        submission=submission,
        document=document,
        view=view,
        zoom=zoom,
        zoom_links=[(step, f"{here}?seite={view.number}&zoom={step}") for step in ZOOM_STEPS],
        previous_url=f"{here}?seite={view.number - 1}&zoom={zoom}" if view.number > 1 else "",
        next_url=f"{here}?seite={view.number + 1}&zoom={zoom}" if view.number < count else "",
        page_links=[(number, f"{here}?seite={number}&zoom={zoom}") for number in range(1, count + 1)],
        refused_reason=REFUSED_REASONS.get(view.render.refused, "") if view.render and view.render.refused else "",
        may_download=request.user.has_perm(DOWNLOAD_PERMISSION),
    )
    response["Cache-Control"] = "no-store, private"
    return response


def _image(request: HttpRequest, reference: str, document_id, *, kind: str, number: int) -> HttpResponse:
    _submission_row, document = _document(reference, document_id)
    try:
        page, content = submission_document_page(document=document, kind=kind, number=number)
    except LookupError:
        raise Http404 from None
    except (DocumentNotReady, FileUnavailable) as error:
        return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")
    return private_response(content, content_type=page.mime_type)


@require_GET
@staff_view(VIEW_PERMISSION)
def document_page_image(request: HttpRequest, reference: str, document_id, number: int) -> HttpResponse:
    """A rendered page's image for the viewer page (which audited the view): no-store, through Django only."""
    return _image(request, reference, document_id, kind=RenderedPage.Kind.IMAGE, number=number)


@require_GET
@staff_view(VIEW_PERMISSION)
def document_thumbnail(request: HttpRequest, reference: str, document_id) -> HttpResponse:
    """The first page's thumbnail (160 px wide) for the inbox row; no-store."""
    return _image(request, reference, document_id, kind=RenderedPage.Kind.THUMBNAIL, number=1)
