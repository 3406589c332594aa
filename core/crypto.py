"""Encryption at rest for documents and letter PDFs: AES-256-GCM in segments, streamed in bounded memory.

File layout: b"EPF1", one byte key-id length, the key id, a 7-byte random nonce prefix, then segments of at
most SEGMENT_SIZE plaintext bytes, each sealed with its own nonce (prefix, 4-byte counter, 1-byte last flag).
The header is authenticated with every segment, so a swapped key id, reordered, cut off or altered segments
all fail to decrypt. Keys come from settings.FILE_ENCRYPTION_KEYS: the first encrypts, all decrypt.
"""

import base64
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import Storage

MAGIC = b"EPF1"
SEGMENT_SIZE = 64 * 1024
TAG_SIZE = 16
NONCE_PREFIX_SIZE = 7


class DecryptionError(Exception):
    """The data cannot be decrypted: wrong or unknown key, or data altered or cut off."""


@dataclass(frozen=True)
class StoredFile:
    """What was written: the storage name, the plaintext size and its SHA-256 (hex)."""

    name: str
    size: int
    sha256: str


def _keys() -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for entry in settings.FILE_ENCRYPTION_KEYS:
        key_id, _, encoded = entry.partition(":")
        try:
            key = base64.urlsafe_b64decode(encoded)
        except ValueError as error:
            raise ImproperlyConfigured(f"FILE_ENCRYPTION_KEYS entry {key_id!r} is not base64") from error
        if not key_id or len(key_id.encode()) > 255 or len(key) != 32:
            raise ImproperlyConfigured(f"FILE_ENCRYPTION_KEYS entry {key_id!r} must be '<id>:<32 bytes base64>'")
        keys[key_id] = key
    if not keys:
        raise ImproperlyConfigured("FILE_ENCRYPTION_KEYS is empty")
    return keys


def current_key_id() -> str:
    return next(iter(_keys()))


def generate_key_entry(key_id: str) -> str:
    """A new settings entry '<id>:<key>' (for operators rotating keys)."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _read_full(src: IO[bytes], size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = src.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def encrypt_chunks(chunks: Iterable[bytes], *, aad: bytes = b"") -> Iterator[bytes]:
    """Encrypt a stream of plaintext chunks (any sizes); yields the encrypted file piece by piece."""
    key_id = current_key_id()
    aead = AESGCM(_keys()[key_id])
    prefix = os.urandom(NONCE_PREFIX_SIZE)
    header = MAGIC + bytes([len(key_id.encode())]) + key_id.encode() + prefix
    yield header
    buffer = bytearray()
    counter = 0
    for chunk in chunks:
        buffer += chunk
        while len(buffer) > SEGMENT_SIZE:
            segment = bytes(buffer[:SEGMENT_SIZE])
            del buffer[:SEGMENT_SIZE]
            yield aead.encrypt(_nonce(prefix, counter, False), segment, header + aad)
            counter += 1
    yield aead.encrypt(_nonce(prefix, counter, True), bytes(buffer), header + aad)


def decrypt_stream(src: IO[bytes], *, aad: bytes = b"") -> Iterator[bytes]:
    """Decrypt an encrypted file object segment by segment; raises DecryptionError on any fault."""
    magic = _read_full(src, len(MAGIC) + 1)
    if len(magic) != len(MAGIC) + 1 or magic[:4] != MAGIC:
        raise DecryptionError("not an encrypted file")
    key_id_bytes = _read_full(src, magic[4])
    prefix = _read_full(src, NONCE_PREFIX_SIZE)
    key = _keys().get(key_id_bytes.decode("utf-8", "replace"))
    if key is None or len(prefix) != NONCE_PREFIX_SIZE:
        raise DecryptionError("unknown key id or damaged header")
    header = magic + key_id_bytes + prefix
    aead = AESGCM(key)
    counter = 0
    segment = _read_full(src, SEGMENT_SIZE + TAG_SIZE)
    while True:
        following = _read_full(src, SEGMENT_SIZE + TAG_SIZE)
        last = not following
        try:
            yield aead.decrypt(_nonce(prefix, counter, last), segment, header + aad)
        except InvalidTag as error:
            raise DecryptionError("wrong key, or the file was altered or cut off") from error
        if last:
            return
        segment, counter = following, counter + 1


def key_id_of(src: IO[bytes]) -> str:
    """The id of the key a file was encrypted with (to find files for re-encryption)."""
    magic = _read_full(src, len(MAGIC) + 1)
    if magic[:4] != MAGIC or len(magic) != len(MAGIC) + 1:
        raise DecryptionError("not an encrypted file")
    return _read_full(src, magic[4]).decode("utf-8", "replace")


class _ChunkReader:
    """A read()-able file over an iterator of byte chunks, so storages can stream it without holding it."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = bytearray()

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


def save_encrypted(*, storage: Storage, name: str, chunks: Iterable[bytes], aad: bytes = b"") -> StoredFile:
    """Encrypt and write plaintext chunks under `name` (overwriting), hashing the plaintext on the way."""
    digest = hashlib.sha256()
    size = 0

    def plain() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    if storage.exists(name):
        storage.delete(name)
    stored_name = storage.save(name, File(_ChunkReader(encrypt_chunks(plain(), aad=aad)), name=name))
    return StoredFile(name=stored_name, size=size, sha256=digest.hexdigest())


def open_decrypted(*, storage: Storage, name: str, aad: bytes = b"") -> Iterator[bytes]:
    """The plaintext of a stored encrypted file in segments; the file is closed at the end.

    The file is opened and its first segment decrypted before this returns, so a missing or unreadable file
    (OSError) or a wrong key (DecryptionError) fails here, while the caller can still answer with a message,
    and not halfway through a response whose status was already sent.
    """
    src = storage.open(name, "rb")
    try:
        segments = decrypt_stream(src, aad=aad)
        first = next(segments)
    except BaseException:
        src.close()
        raise
    return _rest_then_close(src, first, segments)


def _rest_then_close(src: IO[bytes], first: bytes, segments: Iterator[bytes]) -> Iterator[bytes]:
    with src:
        yield first
        yield from segments


def read_decrypted(*, storage: Storage, name: str, aad: bytes = b"") -> bytes:
    """The whole plaintext; for small files such as one letter PDF."""
    return b"".join(open_decrypted(storage=storage, name=name, aad=aad))


def iter_file(src: IO[bytes], *, chunk_size: int = SEGMENT_SIZE) -> Iterator[bytes]:
    while chunk := src.read(chunk_size):
        yield chunk
