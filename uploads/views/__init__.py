"""Member pages of the uploads app, one module per step: the draft, its files, the tus endpoints, transmission.

uploads.urls routes to the modules; the names are importable from here too.
"""

from .draft import draft_autosave_view, draft_edit
from .files import file_delete, file_download, file_list, file_states, file_upload, photo_document_arrange
from .transmission import RECEIPT_COOKIE, done, receipt, review, transmit
from .tus import tus_collection, tus_upload

__all__ = [
    "RECEIPT_COOKIE",
    "done",
    "draft_autosave_view",
    "draft_edit",
    "file_delete",
    "file_download",
    "file_list",
    "file_states",
    "file_upload",
    "photo_document_arrange",
    "receipt",
    "review",
    "transmit",
    "tus_collection",
    "tus_upload",
]
