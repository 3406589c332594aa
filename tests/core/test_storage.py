"""core.storage and the segment reader of core.crypto on local disk: atomic writes, random access, damage found."""

import errno
import io

import pytest
from django.core.files.storage import storages

from core import crypto
from core import storage as stored_files


def test_a_failed_local_write_leaves_nothing_and_keeps_the_old_file():
    storage = storages["default"]
    stored_files.write_stream(storage, "a/b", [b"old"])

    def failing():
        yield b"new bytes"
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError):
        stored_files.write_stream(storage, "a/b", failing())
    assert [name for name, _modified in stored_files.list_files(storage, "a")] == ["a/b"]
    with storage.open("a/b") as kept:
        assert kept.read() == b"old"


def test_decrypting_reader_seeks_into_any_segment_and_reads_across_them():
    plain = bytes(range(256)) * 1000  # 256,000 bytes: four segments
    crypto.save_encrypted(storage=storages["default"], name="s", chunks=[plain], aad=b"a")
    with crypto.open_decrypting_reader(storage=storages["default"], name="s", size=len(plain), aad=b"a") as raw:
        reader = io.BufferedReader(raw)
        reader.seek(200_000)
        assert reader.read(30_000) == plain[200_000:230_000]
        reader.seek(65_530)
        assert reader.read(20) == plain[65_530:65_550]
        reader.seek(0)
        assert reader.read() == plain


@pytest.mark.parametrize("claimed", [100_000, 200_000])
def test_decrypting_reader_notices_a_file_cut_short_or_a_wrong_size(claimed):
    plain = b"x" * 150_000
    crypto.save_encrypted(storage=storages["default"], name="s", chunks=[plain], aad=b"a")
    raw = crypto.open_decrypting_reader(storage=storages["default"], name="s", size=claimed, aad=b"a")
    raw.seek(claimed - 1)
    with raw, pytest.raises(crypto.DecryptionError):
        raw.read(1)


def test_decrypting_reader_refuses_another_files_binding():
    crypto.save_encrypted(storage=storages["default"], name="s", chunks=[b"secret"], aad=b"document:1|segment:0")
    with (
        crypto.open_decrypting_reader(
            storage=storages["default"], name="s", size=6, aad=b"document:1|segment:1"
        ) as raw,
        pytest.raises(crypto.DecryptionError),
    ):
        raw.read()


def test_delete_quietly_logs_the_errno_and_says_the_files_stayed(monkeypatch, caplog):
    storage = stored_files.private_storage()
    stored_files.write_stream(storage, "documents/x/000000000000", [b"sealed"])

    def read_only(name):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(storage, "delete", read_only)
    assert stored_files.delete_quietly(["documents/x/000000000000"], what="upload x") is False
    assert "upload x: removing a stored file failed with EROFS" in caplog.text
    assert "documents/x" not in caplog.text
    assert stored_files.exists(storage, "documents/x/000000000000")


def test_delete_quietly_removes_the_files_and_takes_a_missing_one_in_its_stride():
    storage = stored_files.private_storage()
    stored_files.write_stream(storage, "letters/1.pdf.enc", [b"sealed"])
    assert stored_files.delete_quietly(["letters/1.pdf.enc", "letters/2.pdf.enc"], what="letter 1") is True
    assert not stored_files.exists(storage, "letters/1.pdf.enc")
