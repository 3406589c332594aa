"""Fault: Redis stopped for 30 s mid-campaign (without persistence: every queued chunk is lost); the campaign finishes
with every letter exactly once.

Run by hand as root:  .venv/bin/python bench/faults/campaign_redis_stop.py [--members 1500]

The worker and beat reconnect when Redis is back; the watchdog beat (CAMPAIGN_STALLED_MINUTES=1 here) finds the
campaign without progress and dispatches the recipients still waiting again. The count query must show one letter
and one PIN per member.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.common import campaign_fault_main

if __name__ == "__main__":
    campaign_fault_main(
        doc=__doc__,
        name="fault-campaign-redis",
        stop=lambda stack: stack.redis_stop(),
        start=lambda stack: stack.redis_start(),
        away_seconds=30,
        stopped="Redis stopped",
        started="Redis started again (empty)",
        verdict="Redis away 30 s mid-campaign",
    )
