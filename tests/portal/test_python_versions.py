"""Python 3.11, 3.12 and 3.13: pyproject says so, the locks resolve for each of them from wheels alone (so an
install needs no compiler), and scripts/bootstrap.sh takes any of them and refuses others."""

import functools
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
SUPPORTED = ("3.11", "3.12", "3.13")
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)
# Locked for 3.11 (the oldest): redis wants async-timeout only before 3.11.3, so newer Pythons leave it out.
ONLY_FOR_OLD_311 = {"async-timeout"}


def pins(text: str) -> dict[str, str]:
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN.findall(text)}


def test_pyproject_declares_311_to_313():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    allowed = SpecifierSet(project["requires-python"])
    assert [version for version in ("3.10", *SUPPORTED, "3.14") if f"{version}.0" in allowed] == list(SUPPORTED)
    assert {f"Programming Language :: Python :: {v}" for v in SUPPORTED} <= set(project["classifiers"])


@pytest.mark.slow(10)
@pytest.mark.parametrize("python_version", SUPPORTED)
def test_the_lock_resolves_for_each_supported_python_from_wheels_alone(python_version, tmp_path):
    """uv resolves pyproject (runtime + dev) against requirements.lock for the target version, building nothing
    from source, to exactly the pins of the install locks."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("uv is not in the virtualenv (scripts/bootstrap.sh installs it)")
    command = [
        str(uv), "pip", "compile", "--quiet", "--only-binary", ":all:", "--python-version", python_version,
        "--python-platform", "x86_64-unknown-linux-gnu", "--no-header", "--constraint", "requirements.lock",
        "pyproject.toml", "--extra", "dev", "-o", str(tmp_path / "out.txt"),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode and re.search(r"(?i)failed to fetch|connect|dns|network|timed out", result.stderr):
        pytest.skip(f"the package index is unreachable: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    resolved = {name: v for name, v in pins((tmp_path / "out.txt").read_text()).items() if name not in ONLY_FOR_OLD_311}
    dev = pins((ROOT / "requirements" / "dev.txt").read_text())
    assert {name: v for name, v in dev.items() if name not in ONLY_FOR_OLD_311} == resolved
    prod = pins((ROOT / "requirements" / "prod.txt").read_text())
    assert {name: resolved.get(name) for name in prod if name not in ONLY_FOR_OLD_311} == {
        name: v for name, v in prod.items() if name not in ONLY_FOR_OLD_311
    }


@functools.cache
def interpreters() -> dict[str, str]:
    """Real interpreters of this machine by minor version (Debian's, pyenv's, the virtualenv's)."""
    found = {}
    candidates = [sys.executable, *glob.glob("/usr/bin/python3.*"), *glob.glob("/root/.pyenv/versions/3.*/bin/python3")]
    candidates += [shutil.which(f"python3.{minor}") or "" for minor in range(8, 16)]
    for path in candidates:
        if not path or not re.search(r"python3(\.\d+)?$", path) or not os.access(path, os.X_OK):
            continue
        version = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        ).stdout.strip()
        if version:
            found.setdefault(version, path)
    return found


def run_bootstrap(tmp_path: Path, python: str) -> subprocess.CompletedProcess:
    """scripts/bootstrap.sh in a copy of the project's files it reads, with a virtualenv of the given Python
    whose packages count as installed (the stamp of the locks), so only the version choice and the final
    compilemessages step run; manage.py there reports the interpreter it was started with."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    (tmp_path / "manage.py").write_text("import sys\nprint('ran with', '%d.%d' % sys.version_info[:2])\n")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    os.symlink(python, tmp_path / ".venv" / "bin" / "python")
    locks = (tmp_path / "requirements" / "dev.txt").read_bytes() + (tmp_path / "requirements" / "uv.txt").read_bytes()
    (tmp_path / ".venv" / ".portal-installed").write_text(hashlib.sha256(locks).hexdigest() + "\n")
    return subprocess.run(
        ["bash", str(tmp_path / "scripts" / "bootstrap.sh"), "test"],
        env={**os.environ, "PYTHON": python},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow(5)
@pytest.mark.parametrize("version", SUPPORTED)
def test_bootstrap_accepts_each_supported_python(tmp_path, version):
    python = interpreters().get(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    result = run_bootstrap(tmp_path, python)
    assert result.returncode == 0, result.stderr
    assert f"ran with {version}" in result.stdout


def test_bootstrap_refuses_a_python_outside_the_range_and_says_what_to_do(tmp_path):
    others = {v: p for v, p in interpreters().items() if v not in SUPPORTED}
    if not others:
        pytest.skip("no Python outside 3.11-3.13 on this machine")
    python = sorted(others.items())[-1][1]
    result = run_bootstrap(tmp_path, python)
    assert result.returncode == 1
    assert "Python 3.11, 3.12 or 3.13 is needed" in result.stderr
    assert "ran with" not in result.stdout
