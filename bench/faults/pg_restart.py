"""Fault: PostgreSQL restarted during logins and autosaves; clear 503s, recovery without a restart, no lost write."""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.common import answers, check_clear_failures, finish
from bench.load.run import Run, run_load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--down", type=float, default=10, help="seconds PostgreSQL stays away (default 10)")
    args = parser.parse_args()
    window = {}

    def fault(run: Run) -> None:
        master = run.stack.processes["gunicorn"].pid
        window["start"] = run.at(20, "PostgreSQL stopped (fast shutdown: sessions cut)")
        run.stack.pg_stop()
        window["end"] = run.at(20 + args.down, "PostgreSQL started again")
        run.stack.pg_start()
        window["up"] = time.time()
        window["same_gunicorn"] = run.stack.processes["gunicorn"].pid == master and (
            run.stack.processes["gunicorn"].poll() is None
        )

    run = run_load(
        name="fault-pg", seconds=75, member_users=10, staff_users=1, members=300, reissue_members=100, fault=fault
    )
    start, end = window["start"], window["end"]
    during = answers(run, start, end)
    run.add("the outage was seen by clients", any(e["status"] >= 500 or not e["status"] for e in during),
            f"{len(during)} answers while PostgreSQL was away")  # fmt: skip
    check_clear_failures(run, start, end + 5, "while PostgreSQL was away")
    # Logins and autosaves read and write the database: the first one that succeeds shows recovery.
    ok = [e["t"] for e in answers(run, end, float("inf"), {"login", "autosave"}) if e["status"] in (200, 302)]
    recovered = round(min(ok) - window["up"], 1) if ok else None
    same = window["same_gunicorn"]
    detail = f"first successful login/autosave {recovered} s after PostgreSQL accepted connections again"
    run.add("the portal recovers without a gunicorn restart", recovered is not None and same,
            f"{detail}; same gunicorn master: {same}")  # fmt: skip
    late = [entry for entry in answers(run, end + 10, float("inf")) if entry["status"] >= 500]
    run.add("no 5xx from 10 s after PostgreSQL is back", not late, f"{len(late)}")
    finish(run, f"fault: PostgreSQL away for {args.down:.0f} s during logins and autosaves")


if __name__ == "__main__":
    main()
