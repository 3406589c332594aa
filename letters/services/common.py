"""What the letters services share: the store of encrypted PDFs, the status history, the row lock, deleting a PDF."""

import errno
import logging

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import Storage, storages
from django.db import transaction

from ..models import LetterRequest, LetterStatusChange

logger = logging.getLogger(__name__)


def letter_storage() -> Storage:
    """Where the encrypted letter PDFs live (the default storage: a folder, or S3)."""
    return storages["default"]


def letter_history_add(
    *, letter: LetterRequest, status: str, by: AbstractBaseUser | None = None, note: str = ""
) -> None:
    """One row of the letter's status history (what staff see when a member calls)."""
    LetterStatusChange.objects.create(letter=letter, status=status, by=by, note=note[:200])


def letter_locked(*, letter: LetterRequest, related: tuple[str, ...] = ()) -> LetterRequest:
    """The letter's row again, with its member, locked for the rest of the caller's transaction."""
    return LetterRequest.objects.select_for_update(of=("self",)).select_related("member", *related).get(pk=letter.pk)


def letter_pdf_delete_on_commit(*, letter: LetterRequest) -> None:
    """Remove the letter's file once the transaction commits (a rollback must not lose a PDF still needed)."""
    storage, name, letter_id = letter_storage(), letter.storage_name, letter.pk

    def delete() -> None:
        try:
            if storage.exists(name):
                storage.delete(name)
        except OSError as error:
            # The change is committed; the encrypted file stays behind (a read-only disk, say) and needs a hand.
            logger.error(
                "letter %s: its PDF %s could not be deleted (%s); delete it by hand",
                letter_id,
                name,
                errno.errorcode.get(error.errno or 0, "?"),
            )

    transaction.on_commit(delete)
