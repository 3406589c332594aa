"""The case worker's viewer of a document: asking the worker to render its pages, reading a rendered page back,
and forgetting the renders with their documents (retention). The rendering itself is uploads.rendering (worker)."""

import logging

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.crypto import DecryptionError
from core.queue import task_enqueue
from core.storage import errno_name

from ..constants import RENDER_DOCUMENT_TASK
from ..exceptions import FileUnavailable
from ..models import DocumentRender, RenderedPage, SubmissionDocument

logger = logging.getLogger(__name__)
# A viewer opening a document without renders asks the worker at most this often per document.
REQUEST_AGAIN_SECONDS = 120


def document_render_enqueue(*, document_id: int) -> bool:
    """Hand one deliverable document to the worker's rendering (by the task's name, with its id); False with the
    broker away (the next viewer asks again)."""
    return task_enqueue(name=RENDER_DOCUMENT_TASK, args=(document_id,), what=f"rendering of document {document_id}")


def submission_renders_enqueue(*, submission_id: int) -> int:
    """Hand every deliverable document of a submission just transmitted to the worker's rendering; how many."""
    documents = SubmissionDocument.objects.filter(submission_id=submission_id).select_related("submission")
    return sum(document_render_enqueue(document_id=document.pk) for document in documents if document.is_deliverable)


def document_render_request(*, document: SubmissionDocument) -> bool:
    """A viewer opened a deliverable document the worker has not rendered (one from before the viewer, or whose
    task was lost): ask the worker again, at most every REQUEST_AGAIN_SECONDS. True if it was asked."""
    if DocumentRender.objects.filter(document=document).exists() or not document.is_deliverable:
        return False
    if not cache.add(f"uploads:render:{document.pk}", 1, REQUEST_AGAIN_SECONDS):
        return False
    return document_render_enqueue(document_id=document.pk)


def document_page_read(*, page: RenderedPage) -> bytes:
    """A rendered page's image or text, decrypted (a page is small); FileUnavailable (503) when it cannot be read."""
    try:
        return b"".join(page.open())
    except OSError as error:
        logger.warning("page %s: reading the stored file failed with %s", page.public_id, errno_name(error))
    except DecryptionError:
        logger.error("page %s: the stored file cannot be decrypted", page.public_id)
    raise FileUnavailable(_("Die Seite kann gerade nicht angezeigt werden. Bitte versuchen Sie es später noch einmal."))


def document_renders_take(*, documents: QuerySet[SubmissionDocument] | list) -> list[RenderedPage]:
    """Inside the caller's transaction: remove the render rows of these documents and return their stored files,
    for the caller to discard() once it has committed (retention deletes renders with their documents)."""
    pages = list(RenderedPage.objects.filter(render__document__in=documents))
    DocumentRender.objects.filter(document__in=documents).delete()
    return pages
