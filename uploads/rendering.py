"""The worker's rendering of a deliverable document for the case worker's viewer: its pages as images with their
text, and a thumbnail of the first page, each stored encrypted beside the document (RenderedPage).

Runs only in the Celery worker (uploads.tasks.render_document, by id): the decrypted disarmed copy is spooled to a
temporary file and rendered in a limited child (scanning.render: the disarm's memory, CPU and wall limits, a page
cap and a pixel cap per page); each file is encrypted under its own row's uuid, and the rows are written in one
transaction only while the document is still deliverable and its submission's documents not deleted. A document
over a cap gets a render row that says why, so the viewer tells the case worker and offers the download instead.
"""

import logging
import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from core.crypto import iter_file, save_encrypted
from core.storage import delete_quietly, private_storage
from scanning.render import RenderLimits, RenderOutcome, render_isolated

from .exceptions import UploadError
from .models import DocumentRender, RenderedPage, Submission, SubmissionDocument
from .services import document_open

logger = logging.getLogger(__name__)


def render_limits() -> RenderLimits:
    """The limits of one rendering, from settings: the disarm's memory, CPU and wall limits, the viewer's caps."""
    return RenderLimits(
        memory=settings.UPLOAD_DISARM_MEMORY,
        cpu_seconds=settings.UPLOAD_DISARM_CPU_SECONDS,
        wall_seconds=settings.UPLOAD_DISARM_WALL_SECONDS,
        max_pages=settings.VIEWER_MAX_PAGES,
        max_page_pixels=settings.VIEWER_MAX_PAGE_PIXELS,
    )


def _renderable(document_id: int) -> SubmissionDocument | None:
    document = SubmissionDocument.objects.select_related("submission").filter(pk=document_id).first()
    if document is None or not document.is_deliverable or not document.storage_name:
        return None
    if document.submission.documents_deleted_at is not None:
        return None
    return document


def _store(document: SubmissionDocument, outcome: RenderOutcome, out_dir: Path) -> list[RenderedPage]:
    """Encrypt every file the child wrote, each under its own row's uuid; the rows are not saved yet."""
    prefix = f"renders/{document.public_id}/{secrets.token_hex(6)}/"
    wanted = [(RenderedPage.Kind.IMAGE, page["number"], page["image"], page) for page in outcome.pages]
    wanted += [(RenderedPage.Kind.TEXT, page["number"], page["text"], page) for page in outcome.pages]
    if outcome.thumbnail:
        wanted.append((RenderedPage.Kind.THUMBNAIL, 1, outcome.thumbnail["image"], outcome.thumbnail))
    rows: list[RenderedPage] = []
    try:
        for kind, number, filename, info in wanted:
            is_text = kind == RenderedPage.Kind.TEXT
            row = RenderedPage(
                kind=kind,
                number=number,
                mime_type="text/plain; charset=utf-8" if is_text else info["mime"],
                width=0 if is_text else info["width"],
                height=0 if is_text else info["height"],
            )
            with open(out_dir / Path(filename).name, "rb") as plain:
                stored = save_encrypted(
                    storage=private_storage(), name=f"{prefix}{kind}-{number}", chunks=iter_file(plain), aad=row.aad
                )
            row.storage_name = stored.name
            rows.append(row)
    except BaseException:
        delete_quietly([row.storage_name for row in rows], what=f"renders of document {document.public_id}")
        raise
    return rows


def _record(document: SubmissionDocument, *, refused: str = "", rows: list[RenderedPage] = ()) -> bool:
    """Write the render row and its pages if the document is still deliverable and has none yet."""
    try:
        with transaction.atomic():
            locked = SubmissionDocument.objects.select_for_update().filter(pk=document.pk).first()
            if locked is None or locked.storage_name != document.storage_name or not locked.is_deliverable:
                return False
            if Submission.objects.filter(pk=document.submission_id, documents_deleted_at__isnull=False).exists():
                return False
            render = DocumentRender.objects.create(
                document=locked, refused=refused, page_count=sum(r.kind == RenderedPage.Kind.IMAGE for r in rows)
            )
            for row in rows:
                row.render = render
            RenderedPage.objects.bulk_create(rows)
    except IntegrityError:
        return False  # another run rendered it first
    return True


def document_render(*, document_id: int) -> str:
    """Render one deliverable document's pages for the viewer; "rendered", "refused" (over a cap, said in the
    viewer), or "skipped" (gone, not deliverable, deleted, already rendered, unreadable now). Safe to run twice."""
    document = _renderable(document_id)
    if document is None or DocumentRender.objects.filter(document=document).exists():
        return "skipped"
    with tempfile.TemporaryFile() as plain, tempfile.TemporaryDirectory() as out:
        try:
            for chunk in document_open(document=document):
                plain.write(chunk)
        except UploadError:
            return "skipped"  # logged by document_open; the next viewer asks again
        plain.flush()
        outcome = render_isolated(src=plain, out_dir=Path(out), mime=document.mime_type, limits=render_limits())
        logger.info(
            "document %s rendered: %d pages, peak RSS %d MiB",
            document.public_id,
            len(outcome.pages),
            outcome.peak_rss // 2**20,
        )
        if outcome.refused:
            logger.warning("document %s not rendered (%s): %s", document.public_id, outcome.refused, outcome.detail)
            _record(document, refused=outcome.refused)
            return "refused"
        rows = _store(document, outcome, Path(out))
    if not _record(document, rows=rows):
        delete_quietly([row.storage_name for row in rows], what=f"renders of document {document.public_id}")
        return "skipped"
    return "rendered"
