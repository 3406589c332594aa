"""Key rotation: count the stored files per key id (census) and re-encrypt what an old key sealed.

Every stored file belongs to a row of a concrete subclass of core.models.EncryptedFile; they are found through
django.apps (core imports no app). A file is one stored object or its segments, each segment a stored object of
its own; a name shared by several rows (an upload and the document it became) is counted and rotated once.
The census reads only each object's header (a ranged GET of a few hundred bytes on S3).

Re-encrypting an object decrypts it and writes it back under the same name with the current key: the write
replaces the object atomically (a temporary file renamed into place, or one S3 PUT / completed multipart
upload), so a crash leaves the old object or the new one, never half of one, and the row does not change (the
binding is the row's, not the key's). A rerun reads the header first and skips what is already current, so the
run is resumable and idempotent. A row that let go of the object meanwhile (a disarmed copy swapped in, a file
discarded) gets the rewritten object deleted again.
"""

import io
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.core.cache import cache
from django.core.files.storage import Storage

from .crypto import (
    HEADER_MAX_SIZE,
    DecryptionError,
    Header,
    configured_key_ids,
    current_key_id,
    header_of,
    open_decrypted,
    save_encrypted,
)
from .models import EncryptedFile
from .s3 import is_s3, s3_client, s3_errors, s3_key
from .segments import segment_aad
from .storage import delete, private_storage

logger = logging.getLogger(__name__)

# The last complete census, for /metrics (ops.collectors): {"objects": {key_id: n}, "first_format": n, ...}.
CENSUS_CACHE_KEY = "core:key-census"
# The clock of the pace and the time budget (a test replaces it).
_clock = time.monotonic
# Rows are read in batches of this size.
BATCH = 500


@dataclass(frozen=True)
class StoredObject:
    """One stored object of a row: its name and its authentication data."""

    model: type[EncryptedFile]
    pk: int
    name: str
    aad: bytes
    segment: bool
    # The first object of its file (a file is one object or an upload's segments).
    first: bool = True


@dataclass
class Census:
    """Stored objects per key id; `first_format` of them in the old format (b"EPF1", no per-file key)."""

    objects: Counter = field(default_factory=Counter)
    first_format: Counter = field(default_factory=Counter)
    files: int = 0
    segments: int = 0
    missing: int = 0
    unreadable: int = 0

    def add(self, header: Header, *, segment: bool) -> None:
        self.objects[header.key_id] += 1
        if header.magic != b"EPF2":
            self.first_format[header.key_id] += 1
        if segment:
            self.segments += 1

    def as_dict(self) -> dict:
        return {
            "objects": dict(self.objects),
            "first_format": dict(self.first_format),
            "files": self.files,
            "segments": self.segments,
            "missing": self.missing,
            "unreadable": self.unreadable,
        }


@dataclass
class RotationResult:
    checked: int = 0
    rotated: int = 0
    # Objects whose key is known but that did not decrypt (altered or bound to another row): left as they are.
    failed: int = 0
    census: Census = field(default_factory=Census)
    finished: bool = True
    # Where an unfinished run stopped: (model label, pk) of the last row done; the next run starts after it.
    position: tuple[str, int] | None = None


def encrypted_file_models() -> list[type[EncryptedFile]]:
    """Every concrete model whose rows own an encrypted stored file, in a stable order."""
    found = [model for model in apps.get_models() if issubclass(model, EncryptedFile) and not model._meta.abstract]
    return sorted(found, key=lambda model: model._meta.label)


def files_of(row: EncryptedFile) -> list[tuple[str, bytes, bool]]:
    """(name, aad, is a segment) of each stored object of a row. A model may say that a row has no stored file
    now (`has_stored_file`, e.g. a letter whose PDF was deleted after collection)."""
    if not getattr(row, "has_stored_file", True):
        return []
    if row.segments:
        return [
            (f"{row.storage_name}{segment['key']}", segment_aad(row.aad, segment["key"]), True)
            for segment in row.segments
        ]
    return [(name, row.aad, False) for name in row.stored_names]


def row_count() -> int:
    return sum(model._default_manager.count() for model in encrypted_file_models())


def stored_objects(
    *, on_row: Callable[[], None] | None = None, start_after: tuple[str, int] | None = None
) -> Iterator[StoredObject]:
    """Every stored object once, row by row (ordered by model and primary key, so a rerun walks the same way);
    with start_after (model label, pk), only the rows after that one."""
    seen: set[str] = set()
    for model in encrypted_file_models():
        last_pk = None
        if start_after is not None:
            if model._meta.label < start_after[0]:
                continue
            if model._meta.label == start_after[0]:
                last_pk = start_after[1]
        while True:
            rows = model._default_manager.order_by("pk")
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows[:BATCH])
            if not batch:
                break
            for row in batch:
                last_pk = row.pk
                if on_row:
                    on_row()
                for index, (name, aad, segment) in enumerate(files_of(row)):
                    if name in seen:
                        continue
                    seen.add(name)
                    yield StoredObject(model=model, pk=row.pk, name=name, aad=aad, segment=segment, first=index == 0)


def read_header(storage: Storage, name: str) -> Header:
    """The header of a stored object, reading only its first bytes; FileNotFoundError, DecryptionError."""
    if is_s3(storage):
        with s3_errors():
            response = s3_client(storage).get_object(
                Bucket=storage.bucket_name, Key=s3_key(storage, name), Range=f"bytes=0-{HEADER_MAX_SIZE - 1}"
            )
            head = response["Body"].read()
        return header_of(io.BytesIO(head))
    with storage.open(name, "rb") as src:
        return header_of(src)


def census(*, remember: bool = True) -> Census:
    """Stored objects per key id, read from their headers; kept in the cache for /metrics."""
    result = Census()
    storage = private_storage()
    for stored in stored_objects():
        _count(result, storage, stored)
    if remember:
        cache.set(CENSUS_CACHE_KEY, result.as_dict(), timeout=None)
    return result


def _count(result: Census, storage: Storage, stored: StoredObject) -> Header | None:
    if stored.first:
        result.files += 1
    try:
        header = read_header(storage, stored.name)
    except FileNotFoundError:
        result.missing += 1
        return None
    except DecryptionError:
        result.unreadable += 1
        return None
    result.add(header, segment=stored.segment)
    return header


def rotate(
    *,
    per_second: float = 0,
    max_seconds: float | None = None,
    start_after: tuple[str, int] | None = None,
    progress: Callable[[RotationResult, int], None] | None = None,
) -> RotationResult:
    """Re-encrypt every stored object sealed under another key than the current one (or in the old format).

    per_second: at most this many objects re-encrypted per second (0: no limit), so members do not notice.
    max_seconds: stop after this long, between two rows (result.finished False, result.position where it
    stopped: pass it as start_after to go on from there without reading every header again).
    progress(result, rows_seen): called after each object.
    OSError from the storage stops the run (a rerun resumes); a file that does not decrypt is left, counted.
    """
    storage = private_storage()
    result = RotationResult()
    rows_seen = 0
    started = _clock()

    def seen_row() -> None:
        nonlocal rows_seen
        rows_seen += 1

    current = current_key_id()
    previous: tuple[str, int] | None = start_after
    for stored in stored_objects(on_row=seen_row, start_after=start_after):
        here = (stored.model._meta.label, stored.pk)
        if here != previous and max_seconds is not None and _clock() - started > max_seconds:
            # Between two rows: every object of the rows before is done.
            result.finished, result.position = False, previous
            break
        previous = here
        result.checked += 1
        header = _count(result.census, storage, stored)
        if header is not None and not header.current:
            try:
                _reencrypt(storage, stored)
            except DecryptionError:
                logger.warning("key rotation: a stored %s object does not decrypt", stored.model._meta.model_name)
                result.failed += 1
                continue
            result.rotated += 1
            result.census.objects[header.key_id] -= 1
            if header.magic != b"EPF2":
                result.census.first_format[header.key_id] -= 1
            result.census.objects[current] += 1
            if per_second > 0:
                pause = started + result.rotated / per_second - _clock()
                if pause > 0:
                    time.sleep(pause)
        if progress:
            progress(result, rows_seen)
    result.census.objects = +result.census.objects
    result.census.first_format = +result.census.first_format
    if result.finished and start_after is None:
        cache.set(CENSUS_CACHE_KEY, result.census.as_dict(), timeout=None)
    return result


def _reencrypt(storage: Storage, stored: StoredObject) -> None:
    try:
        plain = open_decrypted(storage=storage, name=stored.name, aad=stored.aad)
    except FileNotFoundError:
        return  # deleted meanwhile: nothing to rotate
    save_encrypted(storage=storage, name=stored.name, chunks=plain, aad=stored.aad)
    if not _referenced(stored):
        # Every row let go of the object while it was rewritten: do not leave a resurrected copy behind.
        delete(storage, stored.name)


def _referenced(stored: StoredObject) -> bool:
    """Whether a row still owns the object: its own row, or another sharing it (a document its upload's file)."""
    row = stored.model._default_manager.filter(pk=stored.pk).first()
    if row is not None and any(name == stored.name for name, _aad, _segment in files_of(row)):
        return True
    folder = stored.name.rsplit("/", 1)[0] + "/"
    for model in encrypted_file_models():
        if not any(field.name == "storage_name" for field in model._meta.concrete_fields):
            continue
        for other in model._default_manager.filter(storage_name__in=[stored.name, folder]):
            if any(name == stored.name for name, _aad, _segment in files_of(other)):
                return True
    return False


def removable_key_ids(result: Census) -> list[str]:
    """Configured keys other than the current one that seal no stored object."""
    return [key_id for key_id in configured_key_ids()[1:] if result.objects.get(key_id, 0) == 0]


def unknown_key_ids(result: Census) -> dict[str, int]:
    """Key ids that seal stored objects but are no longer configured: those objects cannot be read."""
    known = set(configured_key_ids())
    return {key_id: n for key_id, n in result.objects.items() if n > 0 and key_id not in known}
