"""An upload's encrypted segments: writing one per request, the bytes received so far, the running SHA-256.

Each PATCH (and the plain form's one request) is encrypted as it arrives and stored as the document's own
segment, documents/<uuid>/<offset:012d>; the row lists the segments in order with their sizes, and a
segment's key is bound into its authentication data, so segments cannot be swapped, reordered or dropped
(core.segments reads them back).
"""

import collections
import errno
import hashlib
import io
from collections.abc import Iterator
from typing import IO, Any

from django.utils.translation import gettext_lazy as _

from core import storage as stored_files
from core.crypto import encrypt_chunks, iter_file
from core.segments import segment_aad

from ..exceptions import InvalidFile
from ..models import Upload
from ._storage import storage_failed

# Request bodies are read and written in pieces of this size: memory stays bounded, and a piece matches
# gunicorn's largest socket read, so its read-ahead buffer never has to be copied around.
READ_CHUNK = 1024 * 1024


def upload_received(*, upload: Upload) -> io.BufferedReader:
    """The bytes received so far, [0, offset), as one seekable file."""
    if sum(segment["size"] for segment in upload.segments) != upload.offset:
        raise InvalidFile(_("Die Datei ist unvollständig angekommen. Bitte laden Sie sie erneut hoch."))
    return upload.reader()


class _BoundedReader:
    """Reads at most `limit` bytes from the request in chunks; a dropped connection just ends the data."""

    def __init__(self, stream: IO[bytes], limit: int):
        self._stream = stream
        self._remaining = limit
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0 or size > READ_CHUNK:
            size = READ_CHUNK
        size = min(size, self._remaining)
        if size <= 0:
            return b""
        try:
            data = self._stream.read(size)
        except OSError:
            # The client went away midway (UnreadablePostError is an OSError): keep what arrived.
            data = b""
        self._remaining -= len(data)
        self.count += len(data)
        return data


def segment_write(*, upload: Upload, offset: int, stream: IO[bytes], running=None) -> dict | None:
    """Encrypt and store the request's bytes as the segment starting at `offset`, hashing them on the way into
    `running` (the document's SHA-256 so far, when this process has it).

    Returns the segment ({key, size}), or None when no byte arrived. Raises StorageFailed and keeps no partial
    segment (a failed S3 write leaves nothing; a leftover from a killed process is purged by beat).
    """
    key = f"{offset:012d}"
    name = f"{upload.storage_name}{key}"
    storage = stored_files.private_storage()
    reader = _BoundedReader(stream, upload.length - offset)

    def chunks() -> Iterator[bytes]:
        for chunk in iter_file(reader, chunk_size=READ_CHUNK):
            if running is not None:
                running.update(chunk)
            yield chunk

    try:
        stored_files.write_stream(storage, name, encrypt_chunks(chunks(), aad=segment_aad(upload.aad, key)))
        if reader.count == 0:
            stored_files.delete(storage, name)
            return None
    except OSError as error:
        stored_files.delete_quietly([name], what=f"upload {upload.public_id}")
        raise storage_failed(error, upload=upload, step="storing a part") from error
    return {"key": key, "size": reader.count}


# The SHA-256 of [0, offset) of uploads this process received the last part of, so the next part continues it
# and completion needs no second read. A part that reaches another process (or node) misses it, and completion
# then hashes the decrypted segments once.
_RUNNING_HASHES: collections.OrderedDict[tuple[int, int], Any] = collections.OrderedDict()
_RUNNING_HASHES_MAX = 256


def running_hash_take(*, upload: Upload):
    """The SHA-256 so far of the upload's bytes, if this process received the last part; else None."""
    if upload.offset == 0:
        return hashlib.sha256()
    return _RUNNING_HASHES.pop((upload.pk, upload.offset), None)


def running_hash_keep(*, upload: Upload, running) -> None:
    """Keep the SHA-256 so far for the upload's next part (the oldest are dropped past a bound)."""
    if running is None or upload.is_complete:
        return
    _RUNNING_HASHES[(upload.pk, upload.offset)] = running
    while len(_RUNNING_HASHES) > _RUNNING_HASHES_MAX:
        _RUNNING_HASHES.popitem(last=False)


def sha256_of(src: IO[bytes]) -> tuple[int, str]:
    """Size and SHA-256 of a whole file read once from the start (each segment was hashed as it arrived)."""
    src.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := src.read(READ_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    src.seek(0)
    if isinstance(src, io.BufferedReader) and getattr(src.raw, "fault", None) is not None:
        raise OSError(errno.EIO, "reading a stored segment failed")
    return size, digest.hexdigest()
