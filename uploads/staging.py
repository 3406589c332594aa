"""An upload's parts (one per request, each its own encrypted segment) read back as one seekable file."""

import bisect
from collections.abc import Callable
from typing import IO

from core.streams import SizedReader


class StagedFile(SizedReader):
    """The parts of an upload, [(start, end, name), ...] back to back, as one read-only seekable file.

    Lets the PDF and image checks read the upload in place, without a second copy. `open_part(name)` opens one
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
