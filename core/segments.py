"""A file stored as ordered encrypted segments, read back: streamed in order, or as one seekable file.

A member's upload is written one segment per request (uploads.services._segments): the segments are stored as
storage_name + key, listed in the row as [{"key", "size"}], and each is bound to its key in its authentication
data, so segments cannot be swapped, reordered or dropped.
"""

import bisect
import io
from collections.abc import Callable, Iterator
from typing import IO

from django.core.files.storage import Storage

from .crypto import DecryptionError, open_decrypted, open_decrypting_reader
from .streams import SizedReader

# Decrypted segments are read in pieces of this size (a segment is one request's bytes, up to a few MB).
READ_BUFFER = 1024 * 1024


def segment_aad(aad: bytes, key: str) -> bytes:
    """The authentication data of one segment: the file's, and the segment's key."""
    return aad + b"|segment:" + key.encode()


def segments_open(*, storage: Storage, storage_name: str, segments: list[dict], aad: bytes) -> Iterator[bytes]:
    """The segments' plaintext in order, streamed; the first is opened and checked before this returns."""
    first, *rest = segments
    opened = _segment_open(storage, storage_name, first["key"], aad)
    return _segments_then(opened, first, rest, storage=storage, storage_name=storage_name, aad=aad)


def _segment_open(storage: Storage, storage_name: str, key: str, aad: bytes) -> Iterator[bytes]:
    return open_decrypted(storage=storage, name=f"{storage_name}{key}", aad=segment_aad(aad, key))


def _segments_then(opened, first: dict, rest: list[dict], *, storage: Storage, storage_name: str, aad: bytes):
    segment = first
    while True:
        size = 0
        for chunk in opened:
            size += len(chunk)
            yield chunk
        if size != segment["size"]:
            raise DecryptionError("a segment has another size than recorded")
        if not rest:
            return
        segment, *rest = rest
        opened = _segment_open(storage, storage_name, segment["key"], aad)


def segments_reader(*, storage: Storage, storage_name: str, segments: list[dict], aad: bytes) -> io.BufferedReader:
    """The plaintext of the segments back to back as one seekable file, decrypted segment by segment."""
    sizes = {segment["key"]: segment["size"] for segment in segments}
    parts, position = [], 0
    for segment in segments:
        parts.append((position, position + segment["size"], segment["key"]))
        position += segment["size"]

    def open_part(key: str) -> IO[bytes]:
        return open_decrypting_reader(
            storage=storage, name=f"{storage_name}{key}", size=sizes[key], aad=segment_aad(aad, key)
        )

    return io.BufferedReader(SegmentedReader(open_part, parts), buffer_size=READ_BUFFER)


class SegmentedReader(SizedReader):
    """Parts, [(start, end, name), ...] back to back, as one read-only seekable file.

    Lets the PDF and image checks read an upload in place, without a second copy. `open_part(name)` opens one
    part (decrypting). A storage fault or a failed decryption while reading is kept in `fault`, so the caller can
    tell "the file is damaged" from "the storage was away" after a parser swallowed the error.
    """

    def __init__(self, open_part: Callable[[str], IO[bytes]], parts: list[tuple[int, int, str]]):
        super().__init__()
        self._open_part = open_part
        self.fault: Exception | None = None
        self._parts = parts
        self._starts = [start for start, _end, _name in parts]
        self._size = parts[-1][1] if parts else 0
        self._pos = 0
        self._index: int | None = None
        self._handle = None

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index = bisect.bisect_right(self._starts, self._pos) - 1
        start, end, name = self._parts[index]
        try:
            if index != self._index:
                self._close_part()
                self._handle = self._open_part(name)
                self._index = index
            self._handle.seek(self._pos - start)
            data = self._handle.read(min(len(buffer), end - self._pos))
        except Exception as error:
            self.fault = error
            raise
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _close_part(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle, self._index = None, None

    def close(self) -> None:
        self._close_part()
        super().close()
