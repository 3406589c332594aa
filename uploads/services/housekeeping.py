"""Purges run by beat: expired unfinished uploads, drafts of members long done, stored files no row lists."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists
from django.utils import timezone

from audit.constants import AuditAction
from audit.services import Actor, audit_record
from core import storage as stored_files
from pins.selectors import pins_of_outer_member_ending_after

from ..constants import UploadStatus
from ..models import DocumentPage, Draft, QuarantinedFile, RenderedPage, SubmissionDocument, Upload
from ._storage import upload_discard_unfinished


def uploads_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete unfinished uploads past their expiry, with the segments they stored; returns the count."""
    now = now or timezone.now()
    count = 0
    for upload in Upload.objects.filter(status=UploadStatus.IN_PROGRESS, expires_at__lte=now).iterator():
        if upload_discard_unfinished(upload=upload):
            count += 1
    return count


def drafts_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete drafts (and their files) of members whose PINs all ended more than DRAFT_RETENTION_DAYS ago."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.DRAFT_RETENTION_DAYS)
    recent_pin = pins_of_outer_member_ending_after(cutoff=cutoff)
    count = 0
    for draft in Draft.objects.filter(updated_at__lt=cutoff).exclude(Exists(recent_pin)).select_related("member"):
        uploads = list(draft.uploads.all())
        with transaction.atomic():
            deleted, _detail = Draft.objects.filter(pk=draft.pk).delete()
            if not deleted:
                continue
            audit_record(
                action=AuditAction.DRAFT_PURGED,
                actor=Actor.system(),
                member=draft.member,
                data={"draft": str(draft.public_id), "files": len(uploads)},
            )
        for upload in uploads:
            upload.discard()
        count += 1
    return count


def uploads_purge_orphans(*, now: datetime.datetime | None = None) -> int:
    """Delete stored files no row lists (a request that died after writing a segment, a removal that failed
    while the storage was away); returns the count.

    Reads the whole storage, so it finds what any node wrote (S3, or a volume all nodes share). Only files
    older than ORPHAN_GRACE_MINUTES go: a request may be writing a segment whose row it has not saved yet.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.UPLOAD_ORPHAN_GRACE_MINUTES)
    storage = stored_files.private_storage()
    stale = [
        name
        for folder in ("documents", "renders")  # renders/<document uuid>/...: the viewer's pages
        for name, modified in stored_files.list_files(storage, folder)
        if modified < cutoff
    ]
    by_owner: dict[str, list[str]] = {}
    for name in stale:
        # documents/<uuid>/<segment>, or documents/<uuid>.<run>.safe (a disarmed copy)
        by_owner.setdefault(name.split("/")[1].split(".")[0], []).append(name)
    count = 0
    for owner, names in by_owner.items():
        listed = _listed_names(owner)
        for name in names:
            if name not in listed:
                stored_files.delete(storage, name)
                count += 1
    return count


def _listed_names(public_id: str) -> set[str]:
    """The stored names a row still needs for this uuid (upload, transmitted document, a page of one waiting for
    its PDF, or quarantined file, and the viewer's pages of that document)."""
    try:
        rows = [
            *Upload.objects.filter(public_id=public_id),
            *SubmissionDocument.objects.filter(public_id=public_id),
            *DocumentPage.objects.filter(public_id=public_id),
            *QuarantinedFile.objects.filter(public_id=public_id),
            *RenderedPage.objects.filter(render__document__public_id=public_id),
        ]
    except (ValueError, ValidationError):
        return set()  # not a uuid: nothing of ours
    return {name for row in rows for name in row.stored_names}
