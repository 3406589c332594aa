"""Helpers shared by the fault scripts: answers within a time window, the contract for answers in a fault, and
the campaign faults' run (something stopped at a quarter of the letters, started again)."""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.campaign import run as campaign_run
from bench.load.run import Run, report
from bench.load.stack import Stack

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


def campaign_fault_main(
    *,
    doc: str,
    name: str,
    stop: Callable[[Stack], None],
    start: Callable[[Stack], None],
    away_seconds: int,
    stopped: str,
    started: str,
    verdict: str,
) -> None:
    """A campaign over `--members` members; at a quarter of its letters `stop`, wait, `start`; it must still finish.

    The watchdog beat runs with CAMPAIGN_STALLED_MINUTES=1, so a campaign without progress is dispatched again soon.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--members", type=int, default=1500)
    args = parser.parse_args()
    done = {}

    def fault(stack: Stack, progress: dict, elapsed: float) -> None:
        if "at" not in done and progress["rendered"] >= args.members // 4:
            stop(stack)
            done["at"] = progress["rendered"]
            print(f"  {stopped} at {progress['rendered']} letters", flush=True)
            time.sleep(away_seconds)
            start(stack)
            print(f"  {started}", flush=True)

    ok = campaign_run(name, args.members, 3600, fault=fault, env={"CAMPAIGN_STALLED_MINUTES": "1"})
    print(f"{verdict}: {'PASS' if ok and 'at' in done else 'FAIL'}")
    sys.exit(0 if ok else 1)
