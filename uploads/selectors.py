"""Reads of the uploads app: the member's draft and files, reasons, and submissions for case workers."""

import datetime

from django.db.models import Prefetch, Q, QuerySet

from core.queries import count_by
from members.kvnr import kvnr_normalize
from members.models import Member

from .models import (
    DocumentRender,
    Draft,
    PhotoDocument,
    RenderedPage,
    Submission,
    SubmissionDocument,
    SubmissionReason,
    Upload,
)


def draft_for_member(*, member: Member) -> Draft | None:
    """The member's open draft, or None when they have not started one."""
    return Draft.objects.select_related("reason").filter(member=member).first()


def draft_photo_documents(*, draft: Draft) -> list[PhotoDocument]:
    """The draft's documents made of photos, each with its pages in order (prefetched as `ordered_pages`)."""
    pages = Prefetch("pages", queryset=Upload.objects.order_by("page_number", "id"), to_attr="ordered_pages")
    return list(draft.photo_documents.prefetch_related(pages))


def draft_uploads(*, draft: Draft) -> list[Upload]:
    """The draft's files, complete and unfinished, in the order they were added."""
    return list(draft.uploads.select_related("photo_document"))


def draft_is_empty(*, draft: Draft) -> bool:
    """True while the member has entered nothing: no reason, no message, no contact change and no file."""
    return not (draft.reason_id or draft.message or draft.contact_changes or draft.uploads.exists())


def draft_last_saved(*, draft: Draft) -> datetime.datetime:
    """When the draft or one of its files last changed."""
    latest_upload = draft.uploads.order_by("-updated_at").values_list("updated_at", flat=True).first()
    return max(filter(None, [draft.updated_at, latest_upload]))


def upload_for_member(*, member: Member, public_id) -> Upload | None:
    """One of the member's own uploads; None for anyone else's (so views answer 404, never 403)."""
    return Upload.objects.select_related("draft").filter(public_id=public_id, draft__member=member).first()


def reason_list(*, with_inactive: bool = False) -> QuerySet[SubmissionReason]:
    """The reasons a member may choose now; `with_inactive` adds those they no longer can (submissions keep
    theirs, so case workers filter by every reason)."""
    reasons = SubmissionReason.objects.all()
    return reasons if with_inactive else reasons.filter(active=True)


def submission_list(
    *,
    reason: SubmissionReason | str | None = None,
    status: str | None = None,
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    search: str = "",
) -> QuerySet[Submission]:
    """Submissions, newest first, filtered by reason (object or code), status, transmission dates (inclusive,
    local time) and a search for a reference number (also in part) or a KVNR."""
    submissions = Submission.objects.select_related("member", "reason")
    if isinstance(reason, SubmissionReason):
        submissions = submissions.filter(reason=reason)
    elif reason:
        submissions = submissions.filter(reason__code=reason)
    if status:
        submissions = submissions.filter(status=status)
    if date_from:
        submissions = submissions.filter(transmitted_at__date__gte=date_from)
    if date_to:
        submissions = submissions.filter(transmitted_at__date__lte=date_to)
    search = (search or "").strip()
    if search:
        submissions = submissions.filter(
            Q(reference__icontains=search.upper().replace(" ", "")) | Q(member__kvnr=kvnr_normalize(search))
        )
    return submissions


def submission_get(*, reference: str) -> Submission | None:
    """One submission by its reference number (case and spaces ignored), or None."""
    normalized = (reference or "").strip().upper().replace(" ", "")
    return (
        Submission.objects.select_related("member", "reason")
        .prefetch_related("documents")
        .filter(reference=normalized)
        .first()
    )


def submission_for_receipt(*, submission_id: int) -> Submission | None:
    """A submission whose receipt may still be downloaded (the caller checked the signed token)."""
    return Submission.objects.select_related("reason").prefetch_related("documents").filter(pk=submission_id).first()


def submissions_for_member(*, member: Member) -> list[Submission]:
    """The member's transmitted submissions, newest first, with their reason."""
    return list(Submission.objects.filter(member=member).select_related("reason").order_by("-transmitted_at"))


def submission_documents(*, submission: Submission) -> list[SubmissionDocument]:
    """The submission's documents in the order they were uploaded."""
    return list(submission.documents.order_by("id"))


def submission_document_get(*, submission: Submission, public_id) -> SubmissionDocument | None:
    """One document of the submission by its public id, or None."""
    return submission.documents.filter(public_id=public_id).first()


def upload_counts_by(*, field: str) -> dict[str, int]:
    """{value of `field`: uploads in drafts} (the metrics: status or scan_status)."""
    return count_by(queryset=Upload.objects.all(), field=field)


def document_counts_by(*, field: str) -> dict[str, int]:
    """{value of `field`: submitted documents} (the metrics count by scan_status)."""
    return count_by(queryset=SubmissionDocument.objects.all(), field=field)


def document_render_get(*, document: SubmissionDocument) -> DocumentRender | None:
    """The document's render for the viewer (its pages, or why it is not shown), or None while not rendered."""
    return DocumentRender.objects.filter(document=document).first()


def document_page_images(*, document: SubmissionDocument) -> list[RenderedPage]:
    """The rendered page images of a document in page order, with their sizes in pixels (upright as shown: a
    portrait page is taller than wide); empty while not rendered or not renderable. What the viewer shows."""
    return list(RenderedPage.objects.filter(render__document=document, kind=RenderedPage.Kind.IMAGE).order_by("number"))


def document_page_get(*, document: SubmissionDocument, kind: str, number: int) -> RenderedPage | None:
    """One stored file of the document's render: a page's image or text, or the thumbnail (number 1)."""
    return RenderedPage.objects.filter(render__document=document, kind=kind, number=number).first()


def submission_thumbnails(*, submissions) -> dict[int, RenderedPage]:
    """{submission id: the thumbnail of its first rendered document's first page} for an inbox page (one query);
    submissions with no rendered document are missing."""
    thumbnails: dict[int, RenderedPage] = {}
    rows = (
        RenderedPage.objects.filter(
            kind=RenderedPage.Kind.THUMBNAIL,
            render__document__submission__in=[submission.pk for submission in submissions],
            render__document__submission__documents_deleted_at__isnull=True,
        )
        .select_related("render__document")
        .order_by("render__document_id")
    )
    for row in rows:
        thumbnails.setdefault(row.render.document.submission_id, row)
    return thumbnails
