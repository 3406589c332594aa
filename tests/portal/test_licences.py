"""The licence check of the runtime lock (scripts/licences.py): what the portal runs carries no GPL, AGPL or SSPL,
and the check does refuse such a package when one is added (fed a made-up installed package's metadata)."""

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("licences", ROOT / "scripts" / "licences.py")
licences = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(licences)


def fake_package(folder: Path, name: str, version: str, *, headers: str, files: tuple[str, ...] = ()) -> None:
    """An installed distribution as pip leaves it: <name>-<version>.dist-info with METADATA and RECORD."""
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: {version}\n{headers}\n")
    (info / "RECORD").write_text("".join(f"{file},,\n" for file in files))
    for file in files:  # Python 3.12+ lists only the files of RECORD that exist
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        (folder / file).write_bytes(b"")


def refused(entries) -> dict[str, str]:
    return {entry.name: entry.problem for entry in entries if entry.problem}


def test_the_runtime_lock_is_free_of_gpl_agpl_and_sspl_and_every_package_names_its_licence():
    entries = licences.check(licences.RUNTIME_LOCK.read_text())
    assert len(entries) > 40
    assert refused(entries) == {}
    assert all(entry.licence for entry in entries)
    names = {entry.name for entry in entries}
    assert "pi-heif" in names and "pillow-heif" not in names
    assert "pyyaml" not in names


def test_the_projects_own_licence_is_declared_and_shipped():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "EUPL-1.2"
    assert (ROOT / "LICENSE").read_text().startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")


@pytest.mark.parametrize(
    "headers",
    [
        "License-Expression: GPL-3.0-or-later",
        "License-Expression: MIT AND AGPL-3.0-only",
        "License: SSPL-1.0",
        "Classifier: License :: OSI Approved :: GNU Affero General Public License v3",
        "License: BSD-3-Clause\nClassifier: License :: OSI Approved :: GNU General Public License v2 (GPLv2)",
    ],
)
def test_a_gpl_agpl_or_sspl_package_added_to_the_runtime_lock_is_refused(tmp_path, headers):
    fake_package(tmp_path, "copyleft-thing", "1.0", headers=headers)
    lock = licences.RUNTIME_LOCK.read_text() + "copyleft-thing==1.0 \\\n    --hash=sha256:00\n"
    problems = refused(licences.check(lock, path=[str(tmp_path), *sys.path]))
    assert list(problems) == ["copyleft-thing"]
    assert "refused" in problems["copyleft-thing"]


def test_lgpl_is_refused_unless_a_reason_is_written_down(tmp_path):
    fake_package(tmp_path, "lesser-thing", "2.0", headers="License-Expression: LGPL-2.1-or-later")
    problems = refused(licences.check("lesser-thing==2.0\n", path=[str(tmp_path)]))
    assert "LGPL_ALLOWED" in problems["lesser-thing"]
    fake_package(tmp_path / "psycopg", "psycopg", "3.3.9", headers="License-Expression: LGPL-3.0-only")
    assert refused(licences.check("psycopg==3.3.9\n", path=[str(tmp_path / "psycopg")])) == {}


def test_a_wheel_that_bundles_the_x265_encoder_is_refused_though_its_metadata_says_bsd(tmp_path):
    # How pillow-heif's manylinux wheels are laid out: the package metadata names only the binding's licence.
    fake_package(
        tmp_path,
        "pillow-heif",
        "1.8.1",
        headers="License: BSD-3-Clause",
        files=(
            "pillow_heif/__init__.py",
            "pillow_heif.libs/libheif-7a3e919c.so.1.20.2",
            "pillow_heif.libs/libx265-5ab1e3c4.so.215",
        ),
    )
    problems = refused(licences.check("pillow-heif==1.8.1\n", path=[str(tmp_path)]))
    assert problems == {"pillow-heif": "bundles x265 (GPL-2.0)"}


def test_a_package_without_a_licence_or_with_a_changed_reviewed_licence_is_refused(tmp_path):
    fake_package(tmp_path, "silent-thing", "0.1", headers="Summary: says nothing about its licence")
    fake_package(tmp_path, "pyphen", "9.0", headers="License-Expression: GPL-3.0-only")
    problems = refused(licences.check("silent-thing==0.1\npyphen==9.0\n", path=[str(tmp_path)]))
    assert "names no licence" in problems["silent-thing"]
    assert "review it again" in problems["pyphen"]


def test_the_script_prints_the_table_and_fails_on_a_refusal(tmp_path, capsys, monkeypatch):
    assert licences.main() == 0
    out = capsys.readouterr().out
    assert "django==" in out and "psycopg==" in out and " 0 refused" in out
    fake_package(tmp_path, "copyleft-thing", "1.0", headers="License-Expression: GPL-2.0-only")
    lock = tmp_path / "prod.txt"
    lock.write_text("copyleft-thing==1.0\n")
    monkeypatch.setattr(licences, "RUNTIME_LOCK", lock)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert licences.main() == 1
    assert "REFUSED" in capsys.readouterr().out
