"""What the letters services share: the status history, the row lock, deleting a PDF."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..models import LetterRequest, LetterStatusChange

logger = logging.getLogger(__name__)


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

    def delete() -> None:
        if not letter.discard():
            # The change is committed; the encrypted file stays behind (a read-only disk, say) and needs a hand.
            logger.error(
                "letter %s: its PDF %s could not be deleted; delete it by hand", letter.pk, letter.storage_name
            )

    transaction.on_commit(delete)
