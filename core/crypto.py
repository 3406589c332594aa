"""Encryption at rest for documents and letter PDFs: AES-256-GCM in segments, streamed in bounded memory.

File layout: b"EPF2", one byte key-id length, the key id, a 16-byte random salt, a 7-byte random nonce prefix,
then segments of at most SEGMENT_SIZE plaintext bytes, each sealed with its own nonce (prefix, 4-byte counter,
1-byte last flag). Each file is sealed under its own key, derived with HKDF-SHA256 from the master key named by
the key id and the file's salt, so a master key never seals data directly and random nonces never meet under
one key. Files written before (b"EPF1", no salt: sealed directly under the master key) stay readable.
The header is authenticated with every segment, so a swapped key id or salt, reordered, cut off or altered
segments all fail to decrypt. Keys come from settings.FILE_ENCRYPTION_KEYS: the first encrypts, all decrypt;
core.rotation re-encrypts what an older key (or the old format) sealed.
"""

import base64
import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage

from .storage import open_read, write_stream
from .streams import SizedReader

MAGIC = b"EPF2"
MAGIC_V1 = b"EPF1"
SALT_SIZE = 16
HKDF_INFO = b"einmal-pin file key v2"
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


def configured_key_ids() -> list[str]:
    """The ids of settings.FILE_ENCRYPTION_KEYS in order: the first is the current one."""
    return list(_keys())


def current_key_id() -> str:
    return next(iter(_keys()))


def generate_key_entry(key_id: str) -> str:
    """A new settings entry '<id>:<key>' (for operators rotating keys)."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"


def derive_file_key(master: bytes, salt: bytes) -> bytes:
    """A file's own AES-256 key: HKDF-SHA256 of the master key with the file's random salt."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=HKDF_INFO).derive(master)


@dataclass(frozen=True)
class Header:
    """What an encrypted file's header says: its format (b"EPF1" or b"EPF2") and the id of its master key."""

    magic: bytes
    key_id: str

    @property
    def current(self) -> bool:
        """Sealed the way new files are: the current format under the current key."""
        return self.magic == MAGIC and self.key_id == current_key_id()


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
    salt = os.urandom(SALT_SIZE)
    aead = AESGCM(derive_file_key(_keys()[key_id], salt))
    prefix = os.urandom(NONCE_PREFIX_SIZE)
    header = MAGIC + bytes([len(key_id.encode())]) + key_id.encode() + salt + prefix
    yield header
    associated = header + aad
    # The bytes not sealed yet (at most one segment): the last segment is sealed only once the stream ends, with
    # the last flag. A view of an immutable chunk, so the chunk is never copied whole: only a tail shorter than a
    # segment is topped up (at most SEGMENT_SIZE bytes copied per chunk). Segment boundaries are those of one
    # stream cut every SEGMENT_SIZE bytes, whatever the chunk sizes: the format is unchanged.
    held: bytes | memoryview = b""
    counter = 0
    for chunk in chunks:
        data = memoryview(chunk)
        start = 0
        if held:
            if len(held) < SEGMENT_SIZE:
                start = min(SEGMENT_SIZE - len(held), len(data))
                held = bytes(held) + data[:start]
            if start == len(data):
                continue  # the chunk only topped up the held segment: it may still be the last
            yield aead.encrypt(_nonce(prefix, counter, False), held, associated)
            counter += 1
        while len(data) - start > SEGMENT_SIZE:
            yield aead.encrypt(_nonce(prefix, counter, False), data[start : start + SEGMENT_SIZE], associated)
            start += SEGMENT_SIZE
            counter += 1
        # A mutable chunk (bytearray) may be reused by its producer: what waits of it is copied.
        held = data[start:] if isinstance(chunk, bytes) else bytes(data[start:])
    yield aead.encrypt(_nonce(prefix, counter, True), held, associated)


def _read_header(src: IO[bytes]) -> tuple[bytes, bytes, AESGCM]:
    """Read an encrypted file's header: (the header bytes, the nonce prefix, the cipher of its key)."""
    magic = _read_full(src, len(MAGIC) + 1)
    if len(magic) != len(MAGIC) + 1 or magic[:4] not in (MAGIC, MAGIC_V1):
        raise DecryptionError("not an encrypted file")
    key_id_bytes = _read_full(src, magic[4])
    salt = _read_full(src, SALT_SIZE) if magic[:4] == MAGIC else b""
    prefix = _read_full(src, NONCE_PREFIX_SIZE)
    key = _keys().get(key_id_bytes.decode("utf-8", "replace"))
    if key is None or len(prefix) != NONCE_PREFIX_SIZE or (magic[:4] == MAGIC and len(salt) != SALT_SIZE):
        raise DecryptionError("unknown key id or damaged header")
    if magic[:4] == MAGIC:
        key = derive_file_key(key, salt)
    return magic + key_id_bytes + salt + prefix, prefix, AESGCM(key)


def decrypt_stream(src: IO[bytes], *, aad: bytes = b"") -> Iterator[bytes]:
    """Decrypt an encrypted file object segment by segment; raises DecryptionError on any fault."""
    header, prefix, aead = _read_header(src)
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


def header_of(src: IO[bytes]) -> Header:
    """The format and key id of an encrypted file, from its first bytes only (to count and find files for
    re-encryption); DecryptionError if it is not an encrypted file."""
    magic = _read_full(src, len(MAGIC) + 1)
    if len(magic) != len(MAGIC) + 1 or magic[:4] not in (MAGIC, MAGIC_V1):
        raise DecryptionError("not an encrypted file")
    key_id = _read_full(src, magic[4])
    if len(key_id) != magic[4]:
        raise DecryptionError("damaged header")
    return Header(magic=magic[:4], key_id=key_id.decode("utf-8", "replace"))


def key_id_of(src: IO[bytes]) -> str:
    """The id of the key a file was encrypted with (to find files for re-encryption)."""
    return header_of(src).key_id


# The most a header takes: magic, length byte, a key id of up to 255 bytes, the salt and the nonce prefix.
HEADER_MAX_SIZE = len(MAGIC) + 1 + 255 + SALT_SIZE + NONCE_PREFIX_SIZE


def save_encrypted(*, storage: Storage, name: str, chunks: Iterable[bytes], aad: bytes = b"") -> StoredFile:
    """Encrypt and write plaintext chunks under `name` (overwriting), hashing the plaintext on the way.

    Streams in bounded memory (core.storage.write_stream): a failure leaves nothing under `name` and raises
    OSError, also for the object store (StorageUnavailable), so callers treat it as "try again later".
    """
    digest = hashlib.sha256()
    size = 0

    def plain() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    stored_name = write_stream(storage, name, encrypt_chunks(plain(), aad=aad))
    return StoredFile(name=stored_name, size=size, sha256=digest.hexdigest())


def open_decrypted(*, storage: Storage, name: str, aad: bytes = b"") -> Iterator[bytes]:
    """The plaintext of a stored encrypted file in segments; the file is closed at the end.

    The file is opened and its first segment decrypted before this returns, so a missing or unreadable file
    (OSError) or a wrong key (DecryptionError) fails here, while the caller can still answer with a message,
    and not halfway through a response whose status was already sent.
    """
    src = open_read(storage, name)
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


class DecryptingReader(SizedReader):
    """A stored encrypted file of known plaintext size as a seekable plaintext stream, one segment in memory.

    Segment k of the ciphertext starts at header + k * (SEGMENT_SIZE + TAG_SIZE), so a seek decrypts only the
    segment it lands in. The size comes from the database: a file cut short fails its last segment's check.
    """

    def __init__(self, src: IO[bytes], *, size: int, aad: bytes = b""):
        super().__init__()
        self._src = src
        self._size = size
        self._aad = aad
        self._header, self._prefix, self._aead = _read_header(src)
        self._count = max(1, -(-size // SEGMENT_SIZE))
        self._pos = 0
        self._index = -1
        self._plain = b""

    def _load(self, index: int) -> None:
        last = index == self._count - 1
        length = (self._size - index * SEGMENT_SIZE if last else SEGMENT_SIZE) + TAG_SIZE
        self._src.seek(len(self._header) + index * (SEGMENT_SIZE + TAG_SIZE))
        sealed = _read_full(self._src, length)
        try:
            self._plain = self._aead.decrypt(_nonce(self._prefix, index, last), sealed, self._header + self._aad)
        except InvalidTag as error:
            raise DecryptionError("wrong key, or the file was altered or cut off") from error
        self._index = index

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        index = self._pos // SEGMENT_SIZE
        if index != self._index:
            self._load(index)
        start = self._pos - index * SEGMENT_SIZE
        data = self._plain[start : start + len(buffer)]
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._src.close()
        super().close()


def open_decrypting_reader(*, storage: Storage, name: str, size: int, aad: bytes = b"") -> DecryptingReader:
    """DecryptingReader over a stored file; OSError if it cannot be opened, DecryptionError for a bad header."""
    src = open_read(storage, name)
    try:
        return DecryptingReader(src, size=size, aad=aad)
    except BaseException:
        src.close()
        raise


def iter_file(src: IO[bytes], *, chunk_size: int = SEGMENT_SIZE) -> Iterator[bytes]:
    while chunk := src.read(chunk_size):
        yield chunk
