"""Fault: the whole Celery worker SIGKILLed mid-campaign, started again: the campaign finishes, every letter once.

Run by hand as root:  .venv/bin/python bench/faults/campaign_worker_kill.py [--members 1500]

The killed worker's chunk rolls back its open group (one transaction per group); its unacknowledged message waits in
Redis, and the watchdog beat (CAMPAIGN_STALLED_MINUTES=1 here) hands the campaign to the dispatcher again once no
letter has come for a minute. The count query at the end must show one letter and one PIN per member.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.campaign import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1500)
    args = parser.parse_args()
    done = {}

    def fault(stack, progress, elapsed) -> None:
        if "killed" not in done and progress["rendered"] >= args.members // 4:
            stack.worker_kill()
            done["killed"] = progress["rendered"]
            print(f"  SIGKILL to the whole worker at {progress['rendered']} letters", flush=True)
            time.sleep(5)
            stack.worker_start()
            print("  worker started again", flush=True)

    ok = run("fault-campaign-worker", args.members, 3600, fault=fault, env={"CAMPAIGN_STALLED_MINUTES": "1"})
    print(f"worker killed mid-campaign: {'PASS' if ok and 'killed' in done else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
