"""The one base for read-only seekable streams of known size (S3 objects, decrypted files, an upload's parts)."""

import io

# Held in memory up to this size, then spooled to a temporary file (archives, exports, merged letters).
SPOOL_BYTES = 8 * 1024 * 1024


class SizedReader(io.RawIOBase):
    """A read-only raw stream of `_size` bytes with a position `_pos`; subclasses implement `readinto`.

    A seek only moves the position (never past the start; past the end reads nothing); `_moved(old, new)` lets
    a subclass drop what it holds for the old position (an open GET body, say).
    """

    _size: int = 0
    _pos: int = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        position = max(0, base + offset)
        if position != self._pos:
            self._moved(self._pos, position)
            self._pos = position
        return self._pos

    def _moved(self, old: int, new: int) -> None:
        """Called before the position changes; nothing to drop by default."""
