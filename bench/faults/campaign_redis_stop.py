"""Fault: Redis stopped for 30 s mid-campaign (without persistence: every queued chunk is lost); the campaign finishes
with every letter exactly once.

Run by hand as root:  .venv/bin/python bench/faults/campaign_redis_stop.py [--members 1500]

The worker and beat reconnect when Redis is back; the watchdog beat (CAMPAIGN_STALLED_MINUTES=1 here) finds the
campaign without progress and dispatches the recipients still waiting again. The count query must show one letter
and one PIN per member.
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
        if "stopped" not in done and progress["rendered"] >= args.members // 4:
            stack.redis_stop()
            done["stopped"] = progress["rendered"]
            print(f"  Redis stopped at {progress['rendered']} letters", flush=True)
            time.sleep(30)
            stack.redis_start()
            print("  Redis started again (empty)", flush=True)

    ok = run("fault-campaign-redis", args.members, 3600, fault=fault, env={"CAMPAIGN_STALLED_MINUTES": "1"})
    print(f"Redis away 30 s mid-campaign: {'PASS' if ok and 'stopped' in done else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
