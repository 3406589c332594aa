"""Writes for the letters app, one module a step: requests, the worker's render, printing, housekeeping.

`from letters.services import X` keeps working for every public name; the modules are
requests (request, retry, cancel, give up, requeue), worker (render, a campaign's letters), printing (collect,
prepared batches, re-release) and housekeeping (purges). None of them imports letters.tasks.
"""

from .housekeeping import letter_purge_layers, letter_purge_pdfs
from .printing import (
    MANIFEST_HEADER,
    ManifestRow,
    batch_collect,
    batch_collect_archive,
    batch_collect_prepared,
    batch_collect_prepared_archive,
    batch_prepare,
    letter_pdf,
    letter_release,
)
from .requests import (
    RENDER_TASK,
    letter_cancel,
    letter_mark_failed,
    letter_request_create,
    letter_requeue_stale,
    letter_retry,
)
from .worker import letter_render, letters_create_rendered

__all__ = [
    "MANIFEST_HEADER",
    "RENDER_TASK",
    "ManifestRow",
    "batch_collect",
    "batch_collect_archive",
    "batch_collect_prepared",
    "batch_collect_prepared_archive",
    "batch_prepare",
    "letter_cancel",
    "letter_mark_failed",
    "letter_pdf",
    "letter_purge_layers",
    "letter_purge_pdfs",
    "letter_release",
    "letter_render",
    "letter_request_create",
    "letter_requeue_stale",
    "letter_retry",
    "letters_create_rendered",
]
