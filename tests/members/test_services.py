"""Tests for members/services.py: upserting members and importing CSV rows all-or-nothing."""

import datetime

import pytest

from members.models import Member
from members.services import MemberImportError, member_import_rows, member_upsert

ROW = {
    "kvnr": "B987654320",
    "first_name": "Jonas",
    "last_name": "Beispiel",
    "street": "Lindenallee 4",
    "postcode": "20095",
    "town": "Hamburg",
    "egk_valid_until": "2030-12-31",
}


@pytest.mark.django_db
def test_upsert_creates_member_with_user_that_has_no_usable_password():
    member, created = member_upsert(kvnr="b 987654320", data={**ROW, "egk_valid_until": datetime.date(2030, 12, 31)})
    assert created
    assert member.kvnr == "B987654320"
    assert not member.user.has_usable_password()
    assert "B987654320" not in member.user.username


@pytest.mark.django_db
def test_import_updates_existing_kvnr_instead_of_duplicating():
    member_import_rows(rows=[(2, ROW)])
    report = member_import_rows(rows=[(2, {**ROW, "town": "Dortmund"})])
    assert (report.created, report.updated) == (0, 1)
    assert Member.objects.get().town == "Dortmund"


@pytest.mark.django_db
def test_import_with_one_bad_row_imports_nothing_and_reports_every_bad_row():
    rows = [
        (2, ROW),
        (3, {**ROW, "kvnr": "A123456781"}),
        (4, {**ROW, "kvnr": "B987654321", "postcode": "5114"}),
        (5, {**ROW, "kvnr": "", "town": ""}),
    ]
    with pytest.raises(MemberImportError) as error:
        member_import_rows(rows=rows)
    assert [line for line, _ in error.value.errors] == [3, 4, 5]
    assert "kvnr" in error.value.errors[0][1]
    assert "postcode" in error.value.errors[1][1]
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_import_reports_a_kvnr_twice_in_the_file():
    with pytest.raises(MemberImportError) as error:
        member_import_rows(rows=[(2, ROW), (3, ROW)])
    assert error.value.errors[0][0] == 3


@pytest.mark.django_db
def test_import_accepts_german_date_format():
    report = member_import_rows(rows=[(2, {**ROW, "egk_valid_until": "31.12.2030"})])
    assert report.members[0].egk_valid_until == datetime.date(2030, 12, 31)


@pytest.mark.django_db
def test_import_rejects_unreadable_date_with_reason():
    with pytest.raises(MemberImportError) as error:
        member_import_rows(rows=[(2, {**ROW, "egk_valid_until": "next year"})])
    assert "next year" in error.value.errors[0][1]
