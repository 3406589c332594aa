"""core.models.EncryptedFile through the rows that share it: the binding of a stored file, open and discard."""

import uuid

import pytest

from core import storage as stored_files
from core.crypto import DecryptionError, save_encrypted
from core.segments import segment_aad
from letters.models import LetterRequest
from uploads.models import QuarantinedFile, SubmissionDocument, Upload

pytestmark = pytest.mark.django_db


def test_the_bindings_of_stored_files_are_those_they_were_written_with():
    # Files already stored decrypt only with exactly these strings: the base must not change them.
    public_id = uuid.uuid4()
    for model in (Upload, SubmissionDocument, QuarantinedFile):
        assert model(public_id=public_id).aad == f"document:{public_id}".encode()
    assert LetterRequest(pk=42).aad == b"letter:42"


def _segmented(public_id, parts: list[bytes]) -> Upload:
    upload = Upload(public_id=public_id, storage_name=f"documents/{public_id}/", segments=[])
    offset = 0
    for part in parts:
        key = f"{offset:012d}"
        save_encrypted(
            storage=stored_files.private_storage(),
            name=f"{upload.storage_name}{key}",
            chunks=[part],
            aad=segment_aad(upload.aad, key),
        )
        upload.segments.append({"key": key, "size": len(part)})
        offset += len(part)
    return upload


def test_a_file_in_segments_opens_in_order_and_as_one_seekable_file():
    upload = _segmented(uuid.uuid4(), [b"first part ", b"second part"])
    assert b"".join(upload.open()) == b"first part second part"
    with upload.reader() as reader:
        reader.seek(6)
        assert reader.read(9) == b"part seco"


def test_a_file_does_not_open_for_another_row():
    upload = _segmented(uuid.uuid4(), [b"content"])
    other = Upload(public_id=uuid.uuid4(), storage_name=upload.storage_name, segments=upload.segments)
    with pytest.raises(DecryptionError):
        b"".join(other.open())


def test_a_letter_pdf_is_one_file_opened_and_discarded_by_its_row():
    letter = LetterRequest(pk=7)
    save_encrypted(storage=stored_files.private_storage(), name=letter.storage_name, chunks=[b"%PDF"], aad=letter.aad)
    assert letter.stored_names == ["letters/7.pdf.enc"]
    assert b"".join(letter.open()) == b"%PDF"
    assert letter.discard() is True
    assert not stored_files.exists(stored_files.private_storage(), letter.storage_name)


def test_discard_removes_the_segments_and_what_a_failed_request_left_in_the_folder_except_what_is_kept():
    upload = _segmented(uuid.uuid4(), [b"a", b"b"])
    storage = stored_files.private_storage()
    stored_files.write_stream(storage, f"{upload.storage_name}000000009999", [b"died midway"])
    assert upload.discard(keep=frozenset(upload.stored_names)) is True
    assert sorted(name for name, _at in stored_files.list_files(storage, "documents")) == upload.stored_names
    assert upload.discard() is True
    assert list(stored_files.list_files(storage, "documents")) == []
