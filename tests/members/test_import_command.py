"""Tests for the import_members management command."""

import pytest
from django.core.management import CommandError, call_command

from members.models import Member

HEADER = "kvnr;first_name;last_name;street;postcode;town;egk_valid_until;language\n"


@pytest.mark.django_db
def test_command_imports_semicolon_separated_file(tmp_path, capsys):
    path = tmp_path / "members.csv"
    path.write_text(HEADER + "A123456780;Erika;Mustermann;Heidestraße 17;51147;Köln;31.12.2030;en\n", "utf-8")
    call_command("import_members", str(path))
    member = Member.objects.get()
    assert (member.town, member.language) == ("Köln", "en")
    assert "1 new" in capsys.readouterr().out


@pytest.mark.django_db
def test_command_names_line_numbers_of_bad_rows_and_imports_nothing(tmp_path, capsys):
    path = tmp_path / "members.csv"
    path.write_text(
        HEADER
        + "A123456780;Erika;Mustermann;Heidestraße 17;51147;Köln;31.12.2030;de\n"
        + "A123456789;Max;Mustermann;Heidestraße 17;51147;Köln;31.12.2030;de\n",
        "utf-8",
    )
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_members", str(path))
    assert "Line 3:" in capsys.readouterr().err
    assert Member.objects.count() == 0


@pytest.mark.django_db
def test_command_refuses_file_without_required_columns(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text("kvnr,name\nA123456780,Erika\n", "utf-8")
    with pytest.raises(CommandError, match="missing column"):
        call_command("import_members", str(path))


@pytest.mark.django_db
def test_command_refuses_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "members.csv"
    path.write_bytes(HEADER.encode() + "A123456780;Jürgen".encode("latin-1") + b"\xff\xfe\n")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_members", str(path))
