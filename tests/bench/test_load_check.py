"""bench/load/check.py, the consistency check after a load run, on rows made here: it passes what is consistent
and names what is not. (The load run itself needs its own PostgreSQL cluster and root; it is run by hand.)"""

import json

import pytest

from bench.load import check
from letters.models import LetterRequest
from tests.letters.conftest import request_letter  # noqa: F401
from tests.uploads.factories import DraftFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db]


def journal(tmp_path, *entries: dict):
    path = tmp_path / "journal.jsonl"
    path.write_text("\n".join(json.dumps(entry) for entry in entries))
    return check.read_journal(path)


def test_an_acknowledged_autosave_that_is_stored_passes_and_one_that_is_not_fails(tmp_path, member):
    draft = DraftFactory(member=member, message="Zweite Fassung", version=2)
    told = journal(
        tmp_path,
        {"kind": "autosave_sent", "kvnr": member.kvnr, "message": "Zweite Fassung"},
        {"kind": "autosave_ack", "kvnr": member.kvnr, "message": "Zweite Fassung", "version": 2},
    )
    assert check.check_autosaves(told)["ok"]

    draft.message = "Erste Fassung"
    draft.save()
    result = check.check_autosaves(told)
    assert not result["ok"]
    assert "stored message is not the acknowledged one" in result["detail"]


def test_a_rendered_letter_with_its_pin_passes_and_a_stuck_one_fails(tmp_path, member, request_letter):  # noqa: F811
    letter = request_letter(member)
    told = journal(tmp_path, {"kind": "reissue_ack", "member_id": member.pk})
    pins_out = tmp_path / "pins.txt"
    assert all(result["ok"] for result in check.check_letters(told, pins_out))
    assert len(pins_out.read_text().split()) == 1  # the PIN found in the letter, for the leak scan

    LetterRequest.objects.filter(pk=letter.pk).update(status="requested")
    results = {result["name"]: result for result in check.check_letters(told, pins_out)}
    assert not results["no letter request stuck (all rendered)"]["ok"]
