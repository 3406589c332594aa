"""docs/configuration.md lists every environment variable the portal reads, and nothing it no longer reads.

The variables are found in the source, not in a list kept by hand: calls of django-environ (`env.str("X")`,
`env("X")`, `environ.Env().int("X")`), of `os.environ.get("X")`, `os.environ["X"]` and `os.getenv("X")`, and of any
helper in the same module that hands its first argument to one of those (the insurer's `_insurer_value("X")`);
in shell scripts `${X:-default}`. A new setting fails this test until its row is in the table: add the row (variable,
default, required in production, what it does) in the section it belongs to.
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "configuration.md"
PYTHON_SOURCES = ["portal/settings.py", "deploy/gunicorn.conf.py", "ops/views.py"]
SHELL_SOURCES = ["scripts/start.sh"]
NAME = re.compile(r"[A-Z][A-Z0-9_]*")
ENV_METHODS = {"str", "bool", "int", "float", "list", "db", "json", "url", "path", "cache", "tuple", "dict", "get"}
ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.MULTILINE)


def _is_env_read(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id == "env"
    if not isinstance(func, ast.Attribute):
        return False
    owner = ast.unparse(func.value)
    if func.attr in ENV_METHODS and (owner == "env" or owner.endswith("Env()")):
        return True
    return (owner, func.attr) in {("os.environ", "get"), ("os", "getenv"), ("environ", "get")}


def _first_literal(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return None


def python_reads(source: str) -> set[str]:
    tree = ast.parse(source)
    helpers = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.args.args:
            parameter = node.args.args[0].arg
            for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
                if _is_env_read(call) and call.args and ast.unparse(call.args[0]) == parameter:
                    helpers.add(node.name)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (
            _is_env_read(node) or (isinstance(node.func, ast.Name) and node.func.id in helpers)
        ):
            name = _first_literal(node)
            if name and NAME.fullmatch(name):
                names.add(name)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) == "os.environ"
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return names


def shell_reads(source: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)(?::?[-=?+][^}]*)?\}", source))


def read_variables() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PYTHON_SOURCES:
        for name in python_reads((ROOT / path).read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(path)
    for path in SHELL_SOURCES:
        for name in shell_reads((ROOT / path).read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(path)
    return found


def table_variables() -> list[str]:
    return ROW.findall(TABLE.read_text(encoding="utf-8"))


def test_the_scanner_finds_every_kind_of_read():
    source = (
        "import os\nimport environ\nenv = environ.Env()\n"
        'A = env.str("A_STR", default="")\nB = env("B_CALL")\nC = environ.Env().int("C_FRESH", default=1)\n'
        'D = os.environ.get("D_GET")\nE = os.environ["E_ITEM"]\nF = os.getenv("F_GETENV")\n'
        "def _value(variable):\n    return env.str(variable, default='')\n"
        'G = _value("G_HELPER")\nos.environ["NOT_A_READ"] = "x"\n'
    )
    assert python_reads(source) == {"A_STR", "B_CALL", "C_FRESH", "D_GET", "E_ITEM", "F_GETENV", "G_HELPER"}
    assert shell_reads("port=${PORTAL_PORT:-8000} x=${PLAIN}") == {"PORTAL_PORT", "PLAIN"}


def test_every_variable_the_portal_reads_is_in_the_table():
    documented = set(table_variables())
    missing = {name: sorted(paths) for name, paths in read_variables().items() if name not in documented}
    assert missing == {}, f"add a row to docs/configuration.md for each of: {missing}"


def test_the_table_lists_no_variable_the_portal_no_longer_reads():
    read = read_variables()
    stale = sorted(name for name in table_variables() if name not in read)
    assert stale == [], f"docs/configuration.md lists variables nothing reads: {stale}"


def test_each_variable_has_one_row_with_four_columns():
    rows = [line for line in TABLE.read_text(encoding="utf-8").splitlines() if ROW.match(line)]
    names = [ROW.match(line).group(1) for line in rows]
    assert len(names) == len(set(names)), "a variable has two rows"
    for line in rows:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 4 and all(cells[1:]), f"variable, default, required in production, what it does: {line}"
        assert cells[2].split()[0] in {"yes", "no"}, f"the third column starts with yes or no: {line}"


def test_the_production_example_names_every_variable_production_requires():
    required = [
        ROW.match(line).group(1)
        for line in TABLE.read_text(encoding="utf-8").splitlines()
        if ROW.match(line) and line.split("|")[3].strip().startswith("yes")
    ]
    example = (ROOT / "deploy" / "env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))
    assert required
    assert sorted(set(required) - named) == []
