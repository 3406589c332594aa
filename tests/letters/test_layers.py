"""The shared layer of campaign letters as a stored file: encrypted once, found again by every later group,
composed into each complete letter, rotated with the other stored files and deleted when no letter needs it."""

import datetime
import hashlib
import io
import subprocess

import pytest
from django.utils import timezone

from audit.services import Actor
from core import rotation
from core.crypto import read_decrypted
from core.storage import private_storage
from letters.constants import LetterStatus
from letters.models import LetterLayer, LetterRequest
from letters.services import batch_collect, letter_pdf, letter_purge_pdfs, letters_create_rendered
from tests.core.rotation_scenario import KEY_A, KEY_B
from tests.factories import MemberFactory
from tests.letters.pdf import PIN_PATTERN

pytestmark = pytest.mark.django_db


def campaign_letters(count: int, *, language: str = "de") -> list[LetterRequest]:
    return letters_create_rendered(
        members=MemberFactory.create_batch(count, language=language),
        purpose="Kampagne K-000001",
        case_title="Familienversicherung 2027",
        template="standard",
        validity_days=30,
        actor=Actor.system(),
    )


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_campaign_letters_store_their_variable_page_and_one_encrypted_layer_composes_them():
    letters = campaign_letters(3) + campaign_letters(2)  # two groups, one layer
    layer = LetterLayer.objects.get()
    assert all(letter.layer_id == layer.pk for letter in letters)
    stored = private_storage().open(layer.storage_name).read()
    assert b"%PDF" not in stored[:64] and b"DejaVu" not in stored
    assert hashlib.sha256(
        read_decrypted(storage=private_storage(), name=layer.storage_name, aad=layer.aad)
    ).hexdigest() == (layer.digest)
    pins = set()
    for letter in LetterRequest.objects.filter(pk__in=[letter.pk for letter in letters]):
        assert private_storage().size(letter.storage_name) < 3 * 1024
        text = pdftotext(letter_pdf(letter=letter))
        assert "Familienversicherung 2027" in text and letter.reference in text
        pins.update(PIN_PATTERN.findall(text))
    assert len(pins) == 5

    out = io.BytesIO()
    batch = batch_collect(user=None, pdf_out=out, manifest_out=io.StringIO(), limit=10)
    assert batch.letter_count == 5
    assert set(PIN_PATTERN.findall(pdftotext(out.getvalue()))) == pins
    for row in batch.manifest:
        letter = LetterRequest.objects.get(pk=row["letter_id"])
        assert row["sha256"] == hashlib.sha256(letter_pdf(letter=letter)).hexdigest()


def test_a_layer_that_does_not_match_its_name_is_refused():
    from core.crypto import DecryptionError, save_encrypted

    letter = campaign_letters(1)[0]
    layer = letter.layer
    save_encrypted(storage=private_storage(), name=layer.storage_name, chunks=[b"%PDF-1.7 other"], aad=layer.aad)
    with pytest.raises(DecryptionError):
        letter_pdf(letter=LetterRequest.objects.get(pk=letter.pk))


def test_key_rotation_reencrypts_the_layer_and_the_letters_still_compose(settings):
    settings.FILE_ENCRYPTION_KEYS = [KEY_A]
    letter = campaign_letters(2)[0]
    before = letter_pdf(letter=letter)
    assert "letters.LetterLayer" in [model._meta.label for model in rotation.encrypted_file_models()]
    assert rotation.census(remember=False).objects == {"a": 3}  # two letters, one layer
    settings.FILE_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    result = rotation.rotate()
    assert result.rotated == 3
    settings.FILE_ENCRYPTION_KEYS = [KEY_B]
    assert rotation.census(remember=False).objects == {"b": 3}
    assert letter_pdf(letter=LetterRequest.objects.get(pk=letter.pk)) == before


def test_the_layer_is_deleted_with_the_last_letter_pdf_that_needs_it(django_capture_on_commit_callbacks):
    letters = campaign_letters(2)
    layer = LetterLayer.objects.get()
    collected = timezone.now() - datetime.timedelta(days=400)
    LetterRequest.objects.filter(pk=letters[0].pk).update(status=LetterStatus.COLLECTED, collected_at=collected)
    later = timezone.now() + datetime.timedelta(days=1)
    letter_purge_pdfs(now=later)
    assert LetterLayer.objects.filter(pk=layer.pk).exists()  # the second letter still needs it
    assert private_storage().exists(layer.storage_name)
    LetterRequest.objects.filter(pk=letters[1].pk).update(status=LetterStatus.COLLECTED, collected_at=collected)
    with django_capture_on_commit_callbacks(execute=True):
        letter_purge_pdfs(now=later)
    assert not LetterLayer.objects.filter(pk=layer.pk).exists()
    assert not private_storage().exists(layer.storage_name)
    assert LetterRequest.objects.filter(pk__in=[letter.pk for letter in letters], layer__isnull=True).count() == 2
