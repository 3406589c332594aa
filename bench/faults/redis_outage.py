"""Fault: Redis (broker and cache) stopped while staff send new PINs, then started again; every letter once."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.common import answers, check_clear_failures, finish
from bench.load.run import Run, run_load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--down", type=float, default=30, help="seconds Redis stays away (default 30)")
    args = parser.parse_args()
    window = {}

    def fault(run: Run) -> None:
        window["start"] = run.at(20, "Redis stopped (no persistence: queued messages are lost)")
        run.stack.redis_stop()
        window["end"] = run.at(20 + args.down, "Redis started again")
        run.stack.redis_start()

    run = run_load(
        name="fault-redis", seconds=110, member_users=4, staff_users=3, members=150, reissue_members=200,
        fault=fault, letter_wait=420,
    )  # fmt: skip
    start, end = window["start"], window["end"]
    reissues = answers(run, start, end, {"staff reissue"})
    refused = [entry for entry in reissues if entry["status"] != 302]
    run.add("staff reissues during the outage answered normally (302)", bool(reissues) and not refused,
            f"{len(reissues)} during the outage, {len(refused)} not 302")  # fmt: skip
    lost = (run.stack.logs / "gunicorn.log").read_text(errors="replace").count(" not enqueued (")
    run.add("the outage made enqueues fail (left to the beat's requeue)", lost > 0, f"{lost} letters not enqueued")
    check_clear_failures(run, start, end + 5, "while Redis was away")
    late = [entry for entry in answers(run, end + 10, float("inf")) if entry["status"] >= 500]
    run.add("no 5xx from 10 s after Redis is back", not late, f"{len(late)}")
    finish(run, f"fault: Redis away for {args.down:.0f} s during staff reissues")


if __name__ == "__main__":
    main()
