"""Streaming writes and reads on the file storages, local or S3, in bounded memory, with S3 faults as OSError.

Django's storage API is used for names, listing and deleting; the bytes go around it: storages' S3 backend
spools a whole object in memory on open (AWS_S3_MAX_MEMORY_SIZE 0) and needs seekable, closable file objects
on save. Here a write is a stream of chunks (a single PUT, or a multipart upload for large objects, aborted on
any failure; on local disk a temporary file renamed into place), and a read is a seekable stream of ranged GETs.
Every object store fault surfaces as an OSError (FileNotFoundError for a missing object, StorageUnavailable
otherwise), so callers answer 503 "try again" and the letter worker retries it as a transient error.
"""

import contextlib
import datetime
import errno
import io
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from .s3 import S3_PART_SIZE, S3Reader, StorageUnavailable, is_s3, s3_delete, s3_errors, s3_list, s3_write

# S3_PART_SIZE, StorageUnavailable, is_s3 and s3_errors are core.storage's names too (core.s3 holds them).
__all__ = [
    "ENCRYPTED_CONTENT_TYPE",
    "S3_PART_SIZE",
    "ChunkReader",
    "StorageUnavailable",
    "delete",
    "delete_quietly",
    "errno_name",
    "exists",
    "is_s3",
    "list_files",
    "open_read",
    "private_storage",
    "s3_errors",
    "verify_access",
    "write_stream",
]

# Stored files are encrypted (core.crypto); their type says so instead of application/octet-stream.
ENCRYPTED_CONTENT_TYPE = "application/vnd.einmal-pin.encrypted"
READ_BUFFER = 256 * 1024

logger = logging.getLogger(__name__)


def private_storage() -> Storage:
    """The storage of the portal's private files: members' documents and letter PDFs, all encrypted (a folder or
    S3, settings.STORAGES["default"]); nothing in it is ever served from a URL."""
    return storages["default"]


def write_stream(
    storage: Storage, name: str, chunks: Iterable[bytes], *, content_type: str = ENCRYPTED_CONTENT_TYPE
) -> str:
    """Write the chunks under `name`, replacing what was there; nothing is left under the name on failure."""
    if is_s3(storage):
        with s3_errors():
            s3_write(storage, name, chunks, content_type=content_type)
        return name
    if isinstance(storage, FileSystemStorage):
        _local_write(storage, name, chunks)
        return name
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, File(ChunkReader(iter(chunks)), name=name))


def _local_write(storage: FileSystemStorage, name: str, chunks: Iterable[bytes]) -> None:
    path = storage.path(name)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        if storage.file_permissions_mode is not None:
            os.chmod(temporary, storage.file_permissions_mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class ChunkReader:
    """A read()-able file over an iterator of byte chunks, for storages that only take file objects."""

    closed = False

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = bytearray()

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


def open_read(storage: Storage, name: str) -> IO[bytes]:
    """A seekable binary stream of a stored file, read in bounded memory; FileNotFoundError if it is missing."""
    if is_s3(storage):
        return io.BufferedReader(S3Reader(storage, name), buffer_size=READ_BUFFER)
    return storage.open(name, "rb")


def delete(storage: Storage, name: str) -> None:
    """Delete a stored file; a missing one is no error."""
    if is_s3(storage):
        s3_delete(storage, name)
        return
    with s3_errors(), contextlib.suppress(FileNotFoundError):
        storage.delete(name)


def delete_quietly(names: Iterable[str], *, what: str) -> bool:
    """Delete files of the private storage; a missing one is no error.

    On a read-only disk, or with S3 away, deleting fails too: that is logged with the errno's name (never a
    file's name or content) and the rest is left to a purge; returns False then.
    """
    storage = private_storage()
    try:
        for name in names:
            delete(storage, name)
    except OSError as error:
        logger.warning("%s: removing a stored file failed with %s", what, errno_name(error))
        return False
    return True


def errno_name(error: OSError) -> str:
    """The errno's symbolic name for a log line (never a path or a file's content)."""
    return errno.errorcode.get(error.errno or 0, "unknown")


def exists(storage: Storage, name: str) -> bool:
    with s3_errors():
        return storage.exists(name)


def list_files(storage: Storage, prefix: str) -> Iterator[tuple[str, datetime.datetime]]:
    """Every stored file whose name starts with the folder `prefix` (recursively), with its modification time (UTC)."""
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    if is_s3(storage):
        yield from s3_list(storage, prefix)
        return
    root = storage.path(prefix) if prefix else storage.location
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for filename in sorted(names):
            path = os.path.join(directory, filename)
            try:
                modified = os.stat(path).st_mtime
            except FileNotFoundError:
                continue
            relative = os.path.relpath(path, storage.path("")).replace(os.sep, "/")
            yield relative, datetime.datetime.fromtimestamp(modified, tz=datetime.UTC)


def verify_access(storage: Storage) -> None:
    """Write, read back and delete a small probe object; raises OSError when the storage cannot be used."""
    name = f"probe/{os.urandom(8).hex()}"
    write_stream(storage, name, [b"probe"], content_type="text/plain")
    try:
        with open_read(storage, name) as probe:
            if probe.read() != b"probe":
                raise StorageUnavailable(errno.EIO, "the probe object read back differently")
    finally:
        delete(storage, name)
