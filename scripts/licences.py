"""The licences of what the portal runs: every package of the runtime lock (requirements/prod.txt), read from its
installed metadata, and the shared libraries its wheel bundles. Refuses GPL, AGPL and SSPL anywhere in it, LGPL
except where a reason is written below, and a package whose metadata names no licence unless it was reviewed.

    .venv/bin/python scripts/licences.py            # the table; exit status 1 when something is refused

tests/portal/test_licences.py runs it on the installed packages (and shows it refusing a GPL package).
"""

import importlib.metadata
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = ROOT / "requirements" / "prod.txt"

# LGPL libraries are used as shared libraries or Python modules that the portal imports unchanged and that an
# operator can replace with their own build (pip installs them as separate, replaceable files, source on PyPI):
# that is what the LGPL asks of a work that uses the library; the portal's own licence is not affected.
LGPL_ALLOWED = {
    "psycopg": "PostgreSQL driver, imported unchanged (LGPL-3.0); replaceable by any psycopg 3 build",
    "psycopg-binary": "psycopg's C speed-ups with libpq, loaded as a separate module (LGPL-3.0)",
    "pi-heif": "the HEIC decoder: bundles libheif and libde265 (LGPL-3.0) as replaceable shared libraries",
}


class Review(NamedTuple):
    seen: str  # what the metadata said when it was reviewed
    used: str  # the licence the portal uses it under
    why: str


# Packages whose metadata does not settle the licence by itself. `seen` is what the metadata said when it was
# reviewed: if a new version says something else, the review is stale and the check fails until it is redone.
REVIEWED = {
    "pyphen": Review(
        seen="GNU General Public License v2 or later (GPLv2+) | GNU Lesser General Public License v2 or later "
        "(LGPLv2+) | Mozilla Public License 1.1 (MPL 1.1)",
        used="MPL-1.1",
        why="offered under GPL-2.0+, LGPL-2.1+ or MPL-1.1, at the user's choice; the portal uses it under MPL-1.1",
    ),
}

# Shared libraries known to be GPL that Python wheels have bundled (auditwheel's <package>.libs folders). Package
# metadata cannot show these: pillow-heif's says BSD-3-Clause while its wheels carry the x265 encoder.
GPL_LIBRARIES = {
    "libx265": "x265 (GPL-2.0)",
    "libx264": "x264 (GPL-2.0)",
    "libpostproc": "FFmpeg's libpostproc (GPL-2.0)",
    "libxvidcore": "Xvid (GPL-2.0)",
    "libfaad": "FAAD2 (GPL-2.0)",
    "libreadline": "GNU Readline (GPL-3.0)",
    "libmysqlclient": "MySQL client (GPL-2.0)",
}

REFUSED = re.compile(r"\bA?GPL|\bSSPL|General Public Licen[cs]e|Affero|Server Side Public", re.IGNORECASE)
LESSER = re.compile(r"\bLGPL|Lesser General Public|Library General Public", re.IGNORECASE)
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)
LIBRARY = re.compile(r"\.(?:libs|dylibs)/(lib[A-Za-z0-9_+\-]*?)(?:-[0-9a-f]{8})?\.so")


@dataclass
class Entry:
    name: str
    version: str
    licence: str
    libraries: list[str]
    problem: str = ""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def described_licence(metadata) -> str:
    """What the metadata says: the SPDX expression (PEP 639), else the License field and the licence classifiers
    together (a package that names BSD in one and LGPL in the other is judged by both)."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (metadata.get("License") or "").strip()
    # Some packages put their whole licence text into License: a name is short and on one line.
    parts = [field] if field and len(field) < 80 and "\n" not in field else []
    for classifier in metadata.get_all("Classifier") or ():
        if classifier.startswith("License :: ") and classifier.split(" :: ")[-1] not in parts:
            parts.append(classifier.split(" :: ")[-1])
    return " | ".join(parts)


def bundled_libraries(distribution) -> list[str]:
    names = {match[1] for file in distribution.files or () if (match := LIBRARY.search(str(file)))}
    return sorted(names)


def judge(name: str, licence: str, libraries: list[str]) -> str:
    """Empty when the package is acceptable, else why not."""
    for library in libraries:
        base = re.sub(r"\.so.*$", "", library)
        if base in GPL_LIBRARIES:
            return f"bundles {GPL_LIBRARIES[base]}"
    if name in REVIEWED:
        return (
            ""
            if licence == REVIEWED[name].seen
            else f"metadata changed since its review (now {licence!r}): review it again"
        )
    if not licence:
        return "metadata names no licence: review it and add it to REVIEWED"
    if REFUSED.search(LESSER.sub("", licence)):
        return f"{licence} is refused (GPL, AGPL or SSPL)"
    if LESSER.search(licence) and name not in LGPL_ALLOWED:
        return f"{licence}: LGPL needs a reason in LGPL_ALLOWED"
    return ""


def check(lock_text: str, *, path: list[str] | None = None) -> list[Entry]:
    """One entry per package of the lock, from the distribution installed on `path` (default: sys.path)."""
    installed = {}
    for distribution in importlib.metadata.distributions(path=path or sys.path):
        installed.setdefault(canonical(distribution.name), distribution)  # the first on the path is imported
    entries = []
    for name, version in PIN.findall(lock_text):
        name = canonical(name)
        distribution = installed.get(name)
        if distribution is None:
            entries.append(Entry(name, version, "", [], "not installed: install the lock first"))
            continue
        licence = described_licence(distribution.metadata)
        libraries = bundled_libraries(distribution)
        entry = Entry(name, distribution.version, licence, libraries, judge(name, licence, libraries))
        if distribution.version != version:
            entry.problem = entry.problem or f"installed {distribution.version}, the lock says {version}"
        entries.append(entry)
    return entries


def table(entries: list[Entry]) -> str:
    lines = []
    for entry in entries:
        used = f"{REVIEWED[entry.name].used} ({REVIEWED[entry.name].why})" if entry.name in REVIEWED else entry.licence
        note = entry.problem and f"  REFUSED: {entry.problem}"
        note = note or (f"  (LGPL: {LGPL_ALLOWED[entry.name]})" if entry.name in LGPL_ALLOWED else "")
        libraries = f"  bundles {', '.join(entry.libraries)}" if entry.libraries else ""
        lines.append(f"{entry.name}=={entry.version}  {used}{note}{libraries}")
    return "\n".join(lines)


def main() -> int:
    entries = check(RUNTIME_LOCK.read_text())
    print(table(entries))
    refused = [entry for entry in entries if entry.problem]
    print(f"{len(entries)} runtime packages, {len(refused)} refused")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
