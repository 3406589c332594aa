"""Tests for the collect_letters management command (the folder drop for an automated pickup)."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from letters.constants import BatchChannel, LetterStatus
from letters.models import LetterRequest, PrintBatch
from tests.factories import MemberFactory


@pytest.fixture
def drop(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def test_collect_letters_writes_the_batch_pdf_and_manifest(drop, request_letter):
    letters = [request_letter(MemberFactory()) for _ in range(2)]
    out = io.StringIO()
    call_command("collect_letters", "--out", str(drop), stdout=out)
    batch = PrintBatch.objects.get()
    assert batch.channel == BatchChannel.FOLDER
    assert batch.collected_by is None
    assert sorted(path.name for path in drop.iterdir()) == [f"{batch.reference}.csv", f"{batch.reference}.pdf"]
    rows = list(csv.DictReader((drop / f"{batch.reference}.csv").open(encoding="utf-8")))
    assert [int(row["letter_id"]) for row in rows] == [letter.pk for letter in letters]
    assert len(PdfReader(drop / f"{batch.reference}.pdf").pages) == 2
    assert set(LetterRequest.objects.values_list("status", flat=True)) == {LetterStatus.COLLECTED}


def test_collect_letters_with_nothing_ready_writes_nothing(drop, db):
    out = io.StringIO()
    call_command("collect_letters", "--out", str(drop), stdout=out)
    assert list(drop.iterdir()) == []
    assert "No letters" in out.getvalue()


def test_collect_letters_refuses_a_user_without_the_right(drop, request_letter, staff_user):
    request_letter(MemberFactory())
    user = staff_user()
    with pytest.raises(CommandError):
        call_command("collect_letters", "--out", str(drop), "--user", user.username)
    assert LetterRequest.objects.get().status == LetterStatus.RENDERED


def test_collect_letters_leaves_the_queue_alone_when_writing_fails(drop, request_letter, settings):
    request_letter(MemberFactory())
    settings.FILE_ENCRYPTION_KEYS = ["other:" + "A" * 43 + "="]
    with pytest.raises(Exception, match=r"wrong key|unknown key"):
        call_command("collect_letters", "--out", str(drop))
    assert list(drop.iterdir()) == []
    assert LetterRequest.objects.get().status == LetterStatus.RENDERED
