"""Photos of one paper document: the member's pages in their order and turn, and the document's name.

The page script uploads each photo through tus like any file, then sends the arrangement (`photo_document_arrange`)
whenever the member adds, moves, turns or removes a page or renames the document. At transmission the pages
become one SubmissionDocument (uploads.services.transmission) whose PDF the worker assembles (uploads.screening).
"""

import uuid
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from audit.constants import AuditAction
from audit.services import Actor, audit_record

from .. import files
from ..constants import UploadStatus
from ..exceptions import UploadError, UploadNotFound
from ..models import Draft, PhotoDocument, Rotation, Upload

TITLE_MAX = 100


def photo_document_title(*, title: str, draft: Draft) -> str:
    """The document's name as the member gave it, else the draft's reason, else a plain "Dokument"."""
    title = " ".join(title.split())[:TITLE_MAX]
    if title:
        return title
    if draft.reason is not None:
        return draft.reason.label[:TITLE_MAX]
    return str(_("Dokument"))


def photo_document_file_name(*, document: PhotoDocument) -> str:
    """The assembled PDF's file name: the document's name, made safe, with .pdf."""
    return files.name_with_extension(files.name_sanitize(document.title), "pdf")


def photo_document_arrange(
    *, draft: Draft, key: uuid.UUID, title: str, pages: Sequence[tuple[uuid.UUID, int]], actor: Actor
) -> PhotoDocument | None:
    """Make the draft's document `key` exactly these pages (upload id, clockwise turn), in this order, named
    `title`; no pages removes the document (its uploads stay plain files). Idempotent: the page script sends
    the whole arrangement every time.

    Raises UploadError (400) for a turn that is not a quarter, a page listed twice or one that is not a photo,
    UploadNotFound (404) for a page that is not an upload of this draft (removed meanwhile).
    """
    rotations = {value for value, _label in Rotation.choices}
    if any(rotation not in rotations for _id, rotation in pages):
        raise UploadError(_("Eine Seite kann nur um 90, 180 oder 270 Grad gedreht werden."))
    ids = [page_id for page_id, _rotation in pages]
    if len(set(ids)) != len(ids):
        raise UploadError(_("Eine Seite ist doppelt angegeben."))
    with transaction.atomic():
        locked = (
            Draft.objects.select_for_update(of=("self",)).select_related("reason", "member").filter(pk=draft.pk).first()
        )
        if locked is None:
            raise UploadNotFound(_("Es gibt keinen Entwurf mehr."))
        uploads = {upload.public_id: upload for upload in locked.uploads.filter(public_id__in=ids)}
        if len(uploads) != len(ids):
            raise UploadNotFound(_("Eine Seite gibt es nicht mehr. Bitte laden Sie die Seite neu."))
        if any(
            upload.status != UploadStatus.COMPLETE or not upload.mime_type.startswith("image/")
            for upload in uploads.values()
        ):
            raise UploadError(_("Seiten eines Dokuments können nur Fotos sein (JPEG, PNG, HEIC)."))
        document = PhotoDocument.objects.filter(public_id=key).first()
        if document is not None and document.draft_id != locked.pk:
            raise UploadNotFound(_("Eine Seite gibt es nicht mehr. Bitte laden Sie die Seite neu."))  # not theirs
        if not pages:
            if document is not None:
                document.pages.update(photo_document=None, page_number=0, rotation=0)  # plain files again
                document.delete()
            return None
        name = photo_document_title(title=title, draft=locked)
        if document is None:
            document = PhotoDocument.objects.create(draft=locked, public_id=key, title=name)
        elif document.title != name:
            document.title = name
            document.save(update_fields=["title"])
        # Pages the member took out of this document become plain files again.
        document.pages.exclude(public_id__in=ids).update(photo_document=None, page_number=0, rotation=0)
        for number, (page_id, rotation) in enumerate(pages, start=1):
            upload = uploads[page_id]
            upload.photo_document, upload.page_number, upload.rotation = document, number, rotation
        Upload.objects.bulk_update(uploads.values(), ["photo_document", "page_number", "rotation"])
        audit_record(
            action=AuditAction.DRAFT_SAVED,
            actor=actor,
            member=locked.member,
            data={"photo_document": str(document.public_id), "pages": len(pages)},
        )
    return document
