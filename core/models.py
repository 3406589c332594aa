"""The one abstract model core has (no tables): a row whose file is kept encrypted in the private storage."""

import logging
from collections.abc import Iterator, Sequence
from typing import ClassVar

from django.db import models

from .crypto import open_decrypted
from .segments import segments_open, segments_reader
from .storage import delete_quietly, errno_name, list_files, private_storage

logger = logging.getLogger(__name__)


class EncryptedFile(models.Model):
    """A row whose file is kept encrypted (core.crypto) in the private storage, bound to the row by `aad`: a
    file moved to another row does not decrypt.

    Where it is: `storage_name` (a field, or a property) and `segments`. With segments ([{"key", "size"}]) the
    file is its ordered encrypted segments, each stored as storage_name + key (core.segments); without, it is
    the one encrypted file storage_name (a disarmed copy, a letter PDF). A storage_name ending in "/" is the
    folder of an upload's segments, also those a failed request left behind.
    """

    # The authentication data is "<AAD_PREFIX>:<the value of AAD_FIELD>".
    AAD_PREFIX: ClassVar[str] = "document"
    AAD_FIELD: ClassVar[str] = "public_id"
    # A subclass whose file is always one file has no segments field.
    segments: Sequence[dict] = ()

    class Meta:
        abstract = True

    @property
    def aad(self) -> bytes:
        """Binds the encrypted file to this row: for members' files the uuid, which the upload, the document it
        becomes and a quarantined copy share (same uuid, same encrypted file)."""
        return f"{self.AAD_PREFIX}:{getattr(self, self.AAD_FIELD)}".encode()

    @property
    def stored_names(self) -> list[str]:
        """The names of what is stored for the file: its segments, or the one file; none before anything is."""
        if self.segments:
            return [f"{self.storage_name}{segment['key']}" for segment in self.segments]
        if self.storage_name and not self.storage_name.endswith("/"):
            return [self.storage_name]
        return []

    def open(self) -> Iterator[bytes]:
        """The decrypted content, streamed. The first piece is read before this returns, so a missing or
        unreadable file (OSError) or a wrong key or altered file (core.crypto.DecryptionError) fails here."""
        if self.segments:
            return segments_open(
                storage=private_storage(), storage_name=self.storage_name, segments=self.segments, aad=self.aad
            )
        return open_decrypted(storage=private_storage(), name=self.storage_name, aad=self.aad)

    def reader(self):
        """The decrypted content of a file stored in segments as one seekable file (core.segments)."""
        return segments_reader(
            storage=private_storage(), storage_name=self.storage_name, segments=self.segments, aad=self.aad
        )

    def discard(self, *, keep: frozenset[str] = frozenset()) -> bool:
        """Delete what is stored for the file, except the names in `keep`; under a folder of segments, also what a
        failed request left there. Failures are logged and left to a purge: returns False then."""
        what = f"{self._meta.model_name} {getattr(self, self.AAD_FIELD)}"
        names = self.stored_names
        if self.storage_name.endswith("/"):
            try:
                names = [name for name, _modified in list_files(private_storage(), self.storage_name)]
            except OSError as error:
                logger.warning("%s: listing its stored files failed with %s", what, errno_name(error))
                return False
        return delete_quietly([name for name in names if name not in keep], what=what)
