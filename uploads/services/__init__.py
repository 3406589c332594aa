"""Writes of the uploads app, one module per subject; the public functions are importable from here.

drafts (autosave, versions), receiving (tus and form uploads), documents (opening stored files, what staff may get),
photo_documents (photos of one paper document: their order, turn and name), transmission (final, ends all PINs,
receipt; case status), housekeeping (purges run by beat), retention (a submission's documents deleted on schedule),
viewing (the case worker's viewer: renders asked for, read, forgotten).
"""

from .documents import document_ensure_deliverable, document_open, submission_ensure_deliverable, upload_open
from .drafts import draft_autosave, draft_get_or_create
from .housekeeping import drafts_purge_expired, uploads_purge_expired, uploads_purge_orphans
from .photo_documents import photo_document_arrange
from .receiving import (
    file_screen_enqueue,
    upload_append,
    upload_create,
    upload_delete,
    upload_ensure_live,
    upload_store,
)
from .retention import submission_close, submission_forget, submissions_forget_due
from .transmission import draft_transmit, reference_generate, submission_set_status
from .viewing import (
    document_page_read,
    document_render_enqueue,
    document_render_request,
    document_renders_take,
    submission_renders_enqueue,
)

__all__ = [
    "document_ensure_deliverable",
    "document_open",
    "document_page_read",
    "document_render_enqueue",
    "document_render_request",
    "document_renders_take",
    "draft_autosave",
    "draft_get_or_create",
    "draft_transmit",
    "drafts_purge_expired",
    "file_screen_enqueue",
    "photo_document_arrange",
    "reference_generate",
    "submission_close",
    "submission_ensure_deliverable",
    "submission_forget",
    "submission_renders_enqueue",
    "submission_set_status",
    "submissions_forget_due",
    "upload_append",
    "upload_create",
    "upload_delete",
    "upload_ensure_live",
    "upload_open",
    "upload_store",
    "uploads_purge_expired",
    "uploads_purge_orphans",
]
