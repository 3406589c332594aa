"""Fault: the Celery worker SIGKILLed mid-render (one pool child, then the whole worker); every letter once."""

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.common import finish
from bench.load.run import Run, run_load, sql

# A render holds the letter's row lock (SELECT ... FOR UPDATE) from start to commit: a table-level RowShareLock.
RENDERING = (
    "select count(*) from pg_locks l join pg_class c on c.oid = l.relation"
    " where c.relname = 'letters_letterrequest' and l.mode = 'RowShareLock'"
)


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def busiest(pids: list[int]) -> int:
    """The pool child that used the most CPU in the last 0.2 s: the one rendering."""
    before = {pid: cpu_ticks(pid) for pid in pids}
    time.sleep(0.2)
    return max(pids, key=lambda pid: cpu_ticks(pid) - before[pid])


def wait_for_render(run: Run, seconds: float = 30) -> bool:
    """Wait until a letter is being rendered (its row locked by the worker)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if int(sql(run.stack, RENDERING) or 0) > 0:
            return True
        time.sleep(0.05)
    return False


def main() -> None:
    killed = {}

    def fault(run: Run) -> None:
        run.at(15, "waiting for a render in progress")
        killed["child"] = wait_for_render(run)
        child = busiest(run.stack.worker_pool_children())
        os.kill(child, signal.SIGKILL)
        run.note(f"SIGKILL to the pool child {child} (render in progress: {killed['child']})")
        run.at(50, "waiting for a render in progress")
        killed["worker"] = wait_for_render(run)
        run.stack.worker_kill()
        run.note(f"SIGKILL to the whole worker (render in progress: {killed['worker']})")
        run.at(60, "worker started again")
        run.stack.worker_start()

    run = run_load(
        name="fault-worker", seconds=100, member_users=3, staff_users=4, members=100, reissue_members=250,
        fault=fault, letter_wait=420,
    )  # fmt: skip
    run.add("a render was in progress at both kills", killed.get("child", False) and killed.get("worker", False),
            f"pool child: {killed.get('child')}, whole worker: {killed.get('worker')}")  # fmt: skip
    finish(run, "fault: Celery worker SIGKILLed mid-render")


if __name__ == "__main__":
    main()
