"""The import rule: a package's `__init__` is the one import point for every module outside that package.

`pins.services`, `letters.services`, `campaigns.services`, `uploads.services` and `uploads.views` are packages
of small modules. Code outside a package (other apps, tests, benches) imports their names from the package
(`from pins.services import pin_verify`), never from a module inside it, so a module can be split or renamed
without its callers noticing, and a name is bound in one public place. Modules inside a package import their
siblings directly.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_PARTS = {".venv", "migrations", "node_modules", "var", "__pycache__", ".git"}


def _packages() -> list[str]:
    """Every app sub-package whose __init__ re-exports its modules' names (the import points)."""
    found = []
    for init in sorted(ROOT.glob("*/*/__init__.py")):
        if SKIP_PARTS & set(init.parts) or init.parent.parent.name == "tests":
            continue
        tree = ast.parse(init.read_text())
        if any(isinstance(node, ast.ImportFrom) and node.level == 1 for node in tree.body):
            found.append(f"{init.parent.parent.name}.{init.parent.name}")
    return found


PACKAGES = _packages()


def _python_files():
    for path in sorted(ROOT.rglob("*.py")):
        if SKIP_PARTS & set(path.relative_to(ROOT).parts):
            continue
        yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def reaches_past(source: str, module: str, packages: list[str]) -> list[str]:
    """The imports in `source` (the module `module`) that reach into a package other than its own."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [node.module]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            for package in packages:
                inside = module == package or module.startswith(package + ".")
                if target.startswith(package + ".") and not inside:
                    found.append(f"line {node.lineno}: {target}")
    return found


def test_the_import_points_are_found():
    assert {"pins.services", "letters.services", "campaigns.services", "uploads.services"} <= set(PACKAGES)


def test_no_module_reaches_past_a_package_import_point():
    offenders = []
    for path in _python_files():
        module = _module_name(path)
        offenders += [f"{path.relative_to(ROOT)} {hit}" for hit in reaches_past(path.read_text(), module, PACKAGES)]
    assert offenders == [], "import these names from the package instead:\n" + "\n".join(offenders)


@pytest.mark.parametrize(
    ("source", "module", "hits"),
    [
        ("from pins.services.verification import pin_verify\n", "web.views", 1),
        ("import pins.services.verification\n", "tests.web.test_views", 1),
        ("from pins.services import pin_verify\n", "web.views", 0),
        ("from .verification import pin_verify\n", "pins.services", 0),
        ("from pins.services.validity import pin_validity\n", "pins.services.issuing", 0),
    ],
)
def test_the_rule_itself(source, module, hits):
    assert len(reaches_past(source, module, ["pins.services"])) == hits
