"""The print shop's pages: the print queue, collecting a batch as one ZIP download, re-release, the specimen letter."""

import tempfile
from collections.abc import Callable
from typing import IO

from django.contrib import admin, messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor
from core.http import pdf_inline_response, staff_view
from core.streams import SPOOL_BYTES
from pins.services import pin_valid_until

from .constants import PRINT_BATCH_MAX
from .exceptions import LetterStateError
from .forms import CollectForm, ReleaseForm, SpecimenForm
from .models import LetterRequest, PrintBatch
from .rendering import SPECIMEN_PIN, LetterContent, render_letter
from .selectors import letters_failed, print_batches_prepared, print_batches_recent, print_queue
from .services import batch_collect_archive, batch_collect_prepared_archive, letter_release


@require_GET
@never_cache
@staff_view("letters.collect_letters")
def queue(request: HttpRequest) -> HttpResponse:
    waiting = print_queue()
    return render(
        request,
        "letters/print_queue.html",
        {
            # The staff layout: site name, the signed-in staff member, logout, breadcrumbs back to the start.
            **admin.site.each_context(request),
            "title": _("Druckwarteschlange"),
            "ready_count": waiting.count(),
            "ready": waiting[:100],
            "batches": print_batches_recent(),
            "prepared": print_batches_prepared(),
            "failed_count": letters_failed().count(),
            "collect_form": CollectForm(),
            "release_form": ReleaseForm() if request.user.has_perm("letters.release_letters") else None,
        },
    )


def _archive_download(request: HttpRequest, *, collect: Callable[[IO[bytes]], PrintBatch | None]) -> HttpResponse:
    """A batch that `collect` writes as one ZIP into a spooled file, sent as a download; else a message.

    `collect` returns None when no letter is ready, or raises LetterStateError (a batch already collected, say):
    then the print shop is sent back to the queue with the reason, and nothing was collected.
    """
    # FileResponse closes the archive once it is sent.
    archive = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        batch = collect(archive)
    except LetterStateError as error:
        archive.close()
        messages.error(request, str(error))
        return redirect("letters:queue")
    if batch is None:
        archive.close()
        messages.info(request, _("Zurzeit liegen keine Briefe zum Drucken bereit."))
        return redirect("letters:queue")
    archive.seek(0)
    response = FileResponse(archive, as_attachment=True, filename=f"druckauftrag-{batch.reference}.zip")
    response["Content-Type"] = "application/zip"
    return response


@require_POST
@never_cache
@staff_view("letters.collect_letters")
def collect(request: HttpRequest) -> HttpResponse:
    form = CollectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Bitte geben Sie eine Anzahl zwischen 1 und %(max)s an.") % {"max": PRINT_BATCH_MAX})
        return redirect("letters:queue")
    limit = form.cleaned_data["limit"]
    return _archive_download(
        request, collect=lambda out: batch_collect_archive(user=request.user, out=out, limit=limit)
    )


@require_POST
@never_cache
@staff_view("letters.collect_letters")
def collect_prepared(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Collect one batch made ahead (a campaign's) as one ZIP; a second collection gets a message, not the letters."""
    return _archive_download(
        request, collect=lambda out: batch_collect_prepared_archive(batch_id=batch_id, user=request.user, out=out)
    )


@require_POST
@staff_view("letters.release_letters")
def release(request: HttpRequest) -> HttpResponse:
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("letter", []):
            messages.error(request, error)
        return redirect("letters:queue")
    letter: LetterRequest = form.cleaned_data["letter"]
    try:
        letter_release(letter=letter, actor=Actor.staff(request.user))
    except LetterStateError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Brief %(reference)s ist wieder in der Druckwarteschlange.") % {"reference": letter.reference}
        )
    return redirect("letters:queue")


@require_GET
@staff_view("letters.view_letterrequest")
def specimen(request: HttpRequest) -> HttpResponse:
    """The letter with made-up data and a PIN that cannot exist; no member, PIN or letter row is touched."""
    form = SpecimenForm(request.GET or None)
    language = form.cleaned_data["sprache"] if form.is_valid() and form.cleaned_data["sprache"] else "de"
    today = timezone.localdate()
    content = LetterContent(
        reference="B-00000000",
        language=language,
        full_name="Erika Mustermann",
        address_lines=["Erika Mustermann", "Heidestraße 17", "51147 Köln"],
        purpose=_("Musterbrief"),
        valid_until=timezone.localdate(pin_valid_until(issued_at=timezone.now())),
        letter_date=today,
        pin_display=SPECIMEN_PIN,
    )
    rendered = render_letter(content=content)
    return pdf_inline_response(rendered.pdf, name=f"musterbrief-{language}.pdf")
