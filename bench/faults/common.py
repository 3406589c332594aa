"""Helpers shared by the fault scripts: answers within a time window and the contract for answers in a fault."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.load.run import Run, report

# Requests from page scripts, which get JSON; every other kind is an HTML page.
SCRIPT_KINDS = {"autosave", "tus create", "tus patch", "tus delete"}


def answers(run: Run, start: float, end: float, kinds: set[str] | None = None) -> list[dict]:
    return [
        entry for entry in run.requests() if start <= entry["t"] <= end and (kinds is None or entry["name"] in kinds)
    ]


def clear_failure(entry: dict) -> bool:
    """The contract for answers while something is away: 503 (or 507 for a full disk), a message, no traceback."""
    if entry.get("traceback"):
        return False
    if entry["name"] in SCRIPT_KINDS:
        return entry["status"] in (503, 507) and bool(entry.get("json_message"))
    return entry["status"] == 503 and bool(entry.get("try_again"))


def check_clear_failures(run: Run, start: float, end: float, what: str, kinds: set[str] | None = None) -> None:
    failures = [entry for entry in answers(run, start, end, kinds) if entry["status"] >= 500 or not entry["status"]]
    unclear = [entry for entry in failures if not clear_failure(entry)]
    kinds_seen = sorted({f"{entry['name']} {entry['status'] or entry.get('error')}" for entry in unclear})
    detail = f"{len(failures)} failed answers, {len(unclear)} not clear" + (
        f": {', '.join(kinds_seen)}" if unclear else ""
    )
    run.add(f"{what}: every 5xx is a clear 503/507 with a message, never a traceback", not unclear, detail)


def finish(run: Run, title: str) -> None:
    sys.exit(0 if report(run, title) else 1)
