"""Fault: the whole Celery worker SIGKILLed mid-campaign, started again: the campaign finishes, every letter once.

Run by hand as root:  .venv/bin/python bench/faults/campaign_worker_kill.py [--members 1500]

The killed worker's chunk rolls back its open group (one transaction per group); its unacknowledged message waits in
Redis, and the watchdog beat (CAMPAIGN_STALLED_MINUTES=1 here) hands the campaign to the dispatcher again once no
letter has come for a minute. The count query at the end must show one letter and one PIN per member.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.common import campaign_fault_main

if __name__ == "__main__":
    campaign_fault_main(
        doc=__doc__,
        name="fault-campaign-worker",
        stop=lambda stack: stack.worker_kill(),
        start=lambda stack: stack.worker_start(),
        away_seconds=5,
        stopped="SIGKILL to the whole worker",
        started="worker started again",
        verdict="worker killed mid-campaign",
    )
