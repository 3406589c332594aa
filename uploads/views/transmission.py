"""Review, transmission and the receipt: the member's last step, and the page and PDF for the browser that sent."""

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.http import attachment_response
from pins.session import member_logout, member_required

from .. import selectors, services
from ..exceptions import TransmitError
from ..forms import DraftForm, TransmitForm
from ..models import Draft, Submission
from ..receipt import receipt_pdf
from ._common import error_list, member_actor, member_draft

RECEIPT_COOKIE = "uploads_receipt"
RECEIPT_SALT = "uploads.receipt"


def _receipt_cookie_path() -> str:
    """The receipt cookie goes only to the uploads pages (done and receipt live below the draft)."""
    return reverse("uploads:draft")


def _receipt_max_age() -> int:
    return settings.RECEIPT_AVAILABLE_MINUTES * 60


@member_required
def review(request: HttpRequest) -> HttpResponse:
    """Everything the member is about to send, with the confirmation checkbox."""
    return render(request, "uploads/review.html", _review_context(member_draft(request), TransmitForm()))


def _review_context(draft: Draft, form: TransmitForm, error: str = "") -> dict:
    errors = error_list(form) if form.is_bound else []
    if error and not errors:
        errors = [("review-summary", error)]
    return {
        "draft": draft,
        "uploads": selectors.draft_uploads(draft=draft),
        "contact_changes": _contact_rows(draft),
        "form": form,
        "errors": errors,
    }


def _contact_rows(draft: Draft) -> list[tuple[str, str]]:
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
        submission = services.draft_transmit(draft=draft, actor=member_actor(request), confirmed=form.is_valid())
    except TransmitError as error:
        return render(request, "uploads/review.html", _review_context(draft, form, str(error.message)), status=400)
    member_logout(request)
    response = redirect("uploads:done")
    response.set_signed_cookie(
        RECEIPT_COOKIE,
        str(submission.pk),
        salt=RECEIPT_SALT,
        max_age=_receipt_max_age(),
        path=_receipt_cookie_path(),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def receipt_cookie_clear(request: HttpRequest, response: HttpResponse) -> None:
    """A member session on this browser after someone transmitted: that receipt is not theirs to see."""
    if RECEIPT_COOKIE in request.COOKIES:
        response.delete_cookie(RECEIPT_COOKIE, path=_receipt_cookie_path(), samesite="Strict")


def _receipt_submission(request: HttpRequest) -> Submission | None:
    """The submission named by the signed, short-lived receipt cookie, while its receipt is available."""
    try:
        submission_id = int(request.get_signed_cookie(RECEIPT_COOKIE, salt=RECEIPT_SALT, max_age=_receipt_max_age()))
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
