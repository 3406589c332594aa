"""The locks: requirements.lock pins every dependency pyproject.toml names, within its range, and the hashed
install locks that scripts/lock.sh writes from it (requirements/*.txt) agree with it: run scripts/lock.sh
after changing either."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
PIN = re.compile(r"([A-Za-z0-9_.\-]+)==([^\s;\\]+)")
REGENERATE = "out of date: run scripts/lock.sh and commit what it changed"


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := PIN.fullmatch(line.strip()):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def hashed(name: str) -> dict[str, tuple[str, int]]:
    """The pins of requirements/<name>.txt with the number of hashes each carries."""
    entries: dict[str, tuple[str, int]] = {}
    current = None
    for line in (LOCKS / f"{name}.txt").read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            entries[current] = (match[2], 0)
        elif current and "--hash=sha256:" in line:
            version, count = entries[current]
            entries[current] = (version, count + 1)
    return entries


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_dependency_is_pinned_within_its_range():
    declared = project()["dependencies"] + project()["optional-dependencies"]["dev"]
    pins = locked()
    problems = []
    for spec in declared:
        requirement = Requirement(spec)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{spec}: locked {version}")
    assert problems == []


@pytest.mark.parametrize("name", ["prod", "dev", "bench", "uv"])
def test_every_entry_of_the_install_locks_carries_a_hash(name):
    entries = hashed(name)
    assert entries
    assert [package for package, (_, hashes) in entries.items() if hashes == 0] == []


def test_the_install_locks_pin_exactly_what_requirements_lock_pins():
    pins = locked()
    union = {package: version for lock in ("prod", "dev") for package, (version, _) in hashed(lock).items()}
    assert union == pins, REGENERATE
    for package, (version, _) in hashed("bench").items():
        assert pins.get(package, version) == version, f"{package} in bench.txt {REGENERATE}"


def test_production_gets_runtime_dependencies_only():
    prod = hashed("prod")
    for spec in project()["dependencies"]:
        assert canonicalize_name(Requirement(spec).name) in prod, f"{spec}: {REGENERATE}"
    dev_only = {canonicalize_name(Requirement(spec).name) for spec in project()["optional-dependencies"]["dev"]}
    assert dev_only & set(prod) == set()
    dev = hashed("dev")
    assert dev_only <= set(dev), REGENERATE
    assert "locust" in hashed("bench")


def test_the_image_installs_the_runtime_lock_with_hashes_only():
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert installs, "the Dockerfile installs nothing"
    for line in installs:
        assert "--require-hashes" in line and "-r requirements/prod.txt" in line, line
    assert "requirements.lock" not in dockerfile
