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
from ..models import Draft, QuarantinedFile, SubmissionDocument, Upload
from ._storage import private_storage, staging_storage, upload_discard_unfinished, upload_files_discard


def uploads_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """Delete unfinished uploads past their expiry, with their parts in staging; returns the count."""
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
            upload_files_discard(upload=upload)
        count += 1
    return count


def uploads_purge_orphans(*, now: datetime.datetime | None = None) -> int:
    """Delete stored segments no row lists (a request that died after writing, a removal that failed while the
    storage was away), and plain parts of the old staging with no upload in progress; returns the count.

    Reads the whole storage, so it finds what any node wrote (S3, or a volume all nodes share). Only files
    older than ORPHAN_GRACE_MINUTES go: a request may be writing a segment whose row it has not saved yet.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=settings.UPLOAD_ORPHAN_GRACE_MINUTES)
    count = 0
    for storage, prefix in ((private_storage(), "documents"), (staging_storage(), "uploads")):
        stale = [name for name, modified in stored_files.list_files(storage, prefix) if modified < cutoff]
        by_owner: dict[str, list[str]] = {}
        for name in stale:
            # documents/<uuid>/<segment>, documents/<uuid> (before segments), documents/<uuid>.<run>.safe (disarmed)
            by_owner.setdefault(name.split("/")[1].split(".")[0], []).append(name)
        for owner, names in by_owner.items():
            for name in names:
                if name not in _listed_names(owner, staging=storage is staging_storage()):
                    stored_files.delete(storage, name)
                    count += 1
    return count


def _listed_names(public_id: str, *, staging: bool) -> set[str]:
    """The stored names a row still needs for this uuid (upload or transmitted document)."""
    try:
        uploads = list(Upload.objects.filter(public_id=public_id))
        documents = list(SubmissionDocument.objects.filter(public_id=public_id))
        quarantined = list(QuarantinedFile.objects.filter(public_id=public_id))
    except (ValueError, ValidationError):
        return set()  # not a uuid: nothing of ours
    if staging:
        return {
            name
            for upload in uploads
            if upload.staging_name and not upload.is_complete
            for name, _modified in stored_files.list_files(staging_storage(), upload.staging_name)
        }
    names = set()
    for row in [*uploads, *documents, *quarantined]:
        if row.segments:
            names.update(f"{row.storage_name}{segment['key']}" for segment in row.segments)
        elif row.storage_name and not row.storage_name.endswith("/"):
            names.add(row.storage_name)
    return names
