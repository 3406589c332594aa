"""Run inside the stack's environment by s3_outage.py: a case-worker download, and the stored-object audit.

python -m bench.faults.s3_probe download   -> {"status": "ok"|"unavailable"|"none", "sha_ok": bool}
python -m bench.faults.s3_probe audit      -> objects, plaintext hits, unlisted (orphan) objects
"""

import hashlib
import json
import sys

import django


def download() -> dict:
    from uploads.exceptions import FileUnavailable
    from uploads.models import SubmissionDocument
    from uploads.services import document_open

    document = SubmissionDocument.objects.order_by("-id").first()
    if document is None:
        return {"status": "none"}
    try:
        digest = hashlib.sha256()
        for chunk in document_open(document=document):
            digest.update(chunk)
    except FileUnavailable:
        return {"status": "unavailable"}
    except OSError as error:
        return {"status": f"broken midway ({type(error).__name__})"}
    return {"status": "ok", "sha_ok": digest.hexdigest() == document.sha256}


def audit() -> dict:
    from django.core.files.storage import storages

    from core import storage as stored_files
    from letters.models import LetterRequest
    from uploads.models import SubmissionDocument, Upload

    storage = storages["default"]
    listed = set()
    for row in [*Upload.objects.all(), *SubmissionDocument.objects.all()]:
        if row.segments:
            listed.update(f"{row.storage_name}{segment['key']}" for segment in row.segments)
        elif row.storage_name:
            listed.add(row.storage_name)
    listed.update(LetterRequest.objects.exclude(pdf_name="").values_list("pdf_name", flat=True))
    names = [name for name, _modified in stored_files.list_files(storage, "")]
    plaintext = 0
    for name in names:
        with stored_files.open_read(storage, name) as src:
            content = src.read()
        plaintext += b"%PDF" in content or not content.startswith(b"EPF1")
    unlisted = [name for name in names if name not in listed]
    return {"objects": len(names), "plaintext": plaintext, "unlisted": len(unlisted), "examples": unlisted[:5]}


def purge() -> dict:
    import datetime

    from django.conf import settings
    from django.utils import timezone

    from uploads.services import uploads_purge_orphans

    later = timezone.now() + datetime.timedelta(minutes=settings.UPLOAD_ORPHAN_GRACE_MINUTES + 1)
    return {"purged": uploads_purge_orphans(now=later)}


if __name__ == "__main__":
    django.setup()
    print(json.dumps({"download": download, "audit": audit, "purge": purge}[sys.argv[1]]()))
