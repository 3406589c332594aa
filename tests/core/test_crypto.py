"""Tests for core/crypto.py: segmented AES-GCM at rest, key rotation and tamper detection."""

import base64
import io
import os

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.storage import FileSystemStorage

from core import crypto
from tests.core.epf1 import epf1_bytes

KEY_A = "a:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
KEY_B = "b:" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="


@pytest.fixture
def storage(tmp_path):
    return FileSystemStorage(location=tmp_path)


@pytest.fixture
def keys(settings):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    return settings


@pytest.mark.parametrize("size", [0, 1, crypto.SEGMENT_SIZE, crypto.SEGMENT_SIZE + 1, 3 * crypto.SEGMENT_SIZE + 7])
def test_round_trip_at_segment_boundaries(storage, keys, size):
    data = os.urandom(size)
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[data[:10], data[10:]], aad=b"doc:1")
    assert stored.size == size
    assert crypto.read_decrypted(storage=storage, name=stored.name, aad=b"doc:1") == data


def test_ciphertext_does_not_contain_the_plaintext(storage, keys):
    data = b"%PDF-1.7 secret letter PIN ABCD-EFGH-JKLM" * 100
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[data])
    raw = storage.open(stored.name).read()
    assert b"ABCD-EFGH-JKLM" not in raw and b"%PDF" not in raw


def test_sha256_is_of_the_plaintext(storage, keys):
    import hashlib

    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[b"hello"])
    assert stored.sha256 == hashlib.sha256(b"hello").hexdigest()


def test_wrong_key_fails_loudly(storage, keys):
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[b"data"])
    keys.FILE_ENCRYPTION_KEYS = ["a:" + "Q0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0M="]
    with pytest.raises(crypto.DecryptionError):
        crypto.read_decrypted(storage=storage, name=stored.name)


def test_file_bound_to_other_row_does_not_decrypt(storage, keys):
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[b"data"], aad=b"doc:1")
    with pytest.raises(crypto.DecryptionError):
        crypto.read_decrypted(storage=storage, name=stored.name, aad=b"doc:2")


def test_rotated_keys_still_decrypt_old_files_and_encrypt_with_the_new_one(storage, keys):
    old = crypto.save_encrypted(storage=storage, name="old.bin", chunks=[b"old"])
    keys.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    new = crypto.save_encrypted(storage=storage, name="new.bin", chunks=[b"new"])
    assert crypto.read_decrypted(storage=storage, name=old.name) == b"old"
    assert crypto.key_id_of(storage.open(new.name)) == "b"


def test_truncated_file_is_detected(storage, keys):
    data = os.urandom(3 * crypto.SEGMENT_SIZE)
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[data])
    raw = storage.open(stored.name).read()
    cut = raw[: len(raw) - (crypto.SEGMENT_SIZE + crypto.TAG_SIZE)]
    with pytest.raises(crypto.DecryptionError):
        b"".join(crypto.decrypt_stream(io.BytesIO(cut)))


def test_flipped_bit_is_detected(storage, keys):
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[b"x" * 1000])
    raw = bytearray(storage.open(stored.name).read())
    raw[-20] ^= 1
    with pytest.raises(crypto.DecryptionError):
        b"".join(crypto.decrypt_stream(io.BytesIO(bytes(raw))))


def test_not_an_encrypted_file_is_refused(keys):
    with pytest.raises(crypto.DecryptionError):
        b"".join(crypto.decrypt_stream(io.BytesIO(b"%PDF-1.4 plain")))


def test_opening_a_missing_file_fails_at_the_call_not_while_streaming(storage, keys):
    with pytest.raises(FileNotFoundError):
        crypto.open_decrypted(storage=storage, name="gone.bin")


def test_opening_with_a_wrong_key_fails_at_the_call_and_closes_the_file(storage, keys, monkeypatch):
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[b"data"])
    keys.FILE_ENCRYPTION_KEYS = [KEY_B]
    opened = []
    real_open = storage.open
    monkeypatch.setattr(storage, "open", lambda *a, **k: opened.append(real_open(*a, **k)) or opened[-1])
    with pytest.raises(crypto.DecryptionError):
        crypto.open_decrypted(storage=storage, name=stored.name)
    assert opened[0].closed


def test_open_decrypted_streams_every_segment_and_closes_at_the_end(storage, keys, monkeypatch):
    data = os.urandom(2 * crypto.SEGMENT_SIZE + 5)
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[data])
    opened = []
    real_open = storage.open
    monkeypatch.setattr(storage, "open", lambda *a, **k: opened.append(real_open(*a, **k)) or opened[-1])
    chunks = crypto.open_decrypted(storage=storage, name=stored.name)
    assert not opened[0].closed
    assert b"".join(chunks) == data
    assert opened[0].closed


def test_each_file_has_its_own_salt_and_the_current_format(storage, keys):
    one = storage.open(crypto.save_encrypted(storage=storage, name="1.bin", chunks=[b"same"]).name).read()
    two = storage.open(crypto.save_encrypted(storage=storage, name="2.bin", chunks=[b"same"]).name).read()
    header = crypto.header_of(io.BytesIO(one))
    assert header == crypto.Header(magic=b"EPF2", key_id="a") and header.current
    salt_at = len(b"EPF2") + 1 + 1
    assert one[salt_at : salt_at + crypto.SALT_SIZE] != two[salt_at : salt_at + crypto.SALT_SIZE]


def test_a_file_is_not_sealed_directly_under_the_master_key(storage, keys):
    raw = storage.open(crypto.save_encrypted(storage=storage, name="f.bin", chunks=[b"data"]).name).read()
    header_size = len(b"EPF2") + 1 + 1 + crypto.SALT_SIZE + crypto.NONCE_PREFIX_SIZE
    prefix = raw[header_size - crypto.NONCE_PREFIX_SIZE : header_size]
    master = AESGCM(base64.urlsafe_b64decode(KEY_A[2:]))
    with pytest.raises(InvalidTag):
        master.decrypt(crypto._nonce(prefix, 0, True), raw[header_size:], raw[:header_size])


@pytest.mark.parametrize("size", [0, 5, crypto.SEGMENT_SIZE, 2 * crypto.SEGMENT_SIZE + 3])
def test_files_of_the_first_format_still_decrypt(storage, keys, size):
    data = os.urandom(size)
    storage.save("old.bin", io.BytesIO(epf1_bytes(data, key_entry=KEY_A, aad=b"doc:1")))
    assert crypto.read_decrypted(storage=storage, name="old.bin", aad=b"doc:1") == data
    assert crypto.header_of(storage.open("old.bin")) == crypto.Header(magic=b"EPF1", key_id="a")
    assert not crypto.header_of(storage.open("old.bin")).current
    with crypto.open_decrypting_reader(storage=storage, name="old.bin", size=size, aad=b"doc:1") as reader:
        assert reader.read() == data


def test_a_tampered_salt_fails_to_decrypt(storage, keys):
    stored = crypto.save_encrypted(storage=storage, name="f.bin", chunks=[b"x" * 1000])
    raw = bytearray(storage.open(stored.name).read())
    raw[len(b"EPF2") + 1 + 1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        b"".join(crypto.decrypt_stream(io.BytesIO(bytes(raw))))


def _sealed_lengths(encrypted: bytes) -> list[int]:
    """The length of each sealed segment after the header (the last may be shorter)."""
    header = len(crypto.MAGIC) + 1 + encrypted[len(crypto.MAGIC)] + crypto.SALT_SIZE + crypto.NONCE_PREFIX_SIZE
    body = len(encrypted) - header
    full, tail = divmod(body, crypto.SEGMENT_SIZE + crypto.TAG_SIZE)
    return [crypto.SEGMENT_SIZE + crypto.TAG_SIZE] * full + ([tail] if tail else [])


SEG = crypto.SEGMENT_SIZE


@pytest.mark.parametrize(
    "cuts",
    [
        [SEG * 16],  # one request piece of 1 MiB: its last segment waits for the next piece
        [SEG * 16, SEG * 16, 5],
        [SEG - 1, 1, SEG, SEG + 1, 2 * SEG - 1],
        [7, 0, SEG * 3, 3],
        [SEG, SEG],
    ],
)
def test_segments_are_cut_every_segment_size_whatever_the_chunks(storage, keys, cuts):
    """Chunks of any size (1 MiB request pieces, odd sizes, empty ones) give the layout the readers rely on: full
    segments, then one last of 1..SEGMENT_SIZE bytes, so a seek lands on segment k at header + k * sealed size."""
    data = os.urandom(sum(cuts))
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(data[at : at + cut])
        at += cut
    encrypted = b"".join(crypto.encrypt_chunks(pieces, aad=b"doc:1"))
    lengths = _sealed_lengths(encrypted)
    assert len(lengths) == -(-len(data) // SEG)
    assert all(length == SEG + crypto.TAG_SIZE for length in lengths[:-1])
    with storage.open("f.bin", "wb") as out:
        out.write(encrypted)
    assert crypto.read_decrypted(storage=storage, name="f.bin", aad=b"doc:1") == data
    with crypto.open_decrypting_reader(storage=storage, name="f.bin", size=len(data), aad=b"doc:1") as reader:
        reader.seek(len(data) - SEG - 3)
        assert reader.read() == data[len(data) - SEG - 3 :]


def test_a_reused_chunk_buffer_does_not_change_what_was_sealed(storage, keys):
    """A producer that fills one bytearray again for each chunk: the tail waiting for the next chunk is a copy."""
    first, second = os.urandom(SEG + 100), os.urandom(SEG + 100)
    buffer = bytearray(first)

    def chunks():
        yield buffer
        buffer[:] = second
        yield buffer

    encrypted = b"".join(crypto.encrypt_chunks(chunks()))
    with storage.open("f.bin", "wb") as out:
        out.write(encrypted)
    assert crypto.read_decrypted(storage=storage, name="f.bin") == first + second
