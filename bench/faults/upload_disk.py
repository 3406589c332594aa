"""Fault: the upload storage made read-only, then full, during uploads; clear refusals, drafts intact."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.common import answers, check_clear_failures, finish
from bench.load.run import Run, run_load
from bench.load.stack import Stack

UPLOAD_KINDS = {"tus create", "tus patch", "tus delete"}


def mount(stack: Stack) -> None:
    """The run's own private folder becomes a tmpfs mount (needs root with CAP_SYS_ADMIN)."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m,mode=0700", "tmpfs", str(stack.private)], check=True)


def remount(stack: Stack, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(stack.private)], check=True)


def fill(stack: Stack) -> None:
    free = shutil.disk_usage(stack.private).free
    subprocess.run(["fallocate", "-l", str(free), str(stack.private / "filler")], check=True)


def unfill(stack: Stack) -> None:
    (stack.private / "filler").unlink()


def main() -> None:
    windows = {}

    def fault(run: Run) -> None:
        start = run.at(20, "storage remounted read-only")
        remount(run.stack, "ro")
        windows["read-only"] = (start, run.at(40, "storage writable again"))
        remount(run.stack, "rw")
        start = run.at(55, "storage filled to the last byte")
        fill(run.stack)
        windows["full"] = (start, run.at(75, "filler removed"))
        unfill(run.stack)
        windows["after"] = time.time()

    run = run_load(
        name="fault-disk", seconds=100, member_users=8, staff_users=0, members=250, reissue_members=0,
        fault=fault, setup=mount,
    )  # fmt: skip
    for name in ("read-only", "full"):
        start, end = windows[name]
        uploads = answers(run, start, end, UPLOAD_KINDS)
        refused = [entry for entry in uploads if entry["status"] >= 400]
        run.add(f"{name}: uploads were refused during the fault", bool(refused),
                f"{len(refused)} of {len(uploads)} upload requests refused")  # fmt: skip
        check_clear_failures(run, start, end + 2, f"{name}", UPLOAD_KINDS)
        saves = answers(run, start, end, {"autosave"})
        failed = [entry for entry in saves if entry["status"] != 200]
        run.add(f"{name}: autosaves kept working", bool(saves) and not failed,
                f"{len(saves)} autosaves, {len(failed)} not 200")  # fmt: skip
    done_after = [e for e in run.journal if e["kind"] == "upload_done" and e["t"] > windows["after"] + 5]
    run.add("uploads complete again once the disk is back", bool(done_after), f"{len(done_after)} uploads completed")
    finish(run, "fault: upload storage read-only, then full")


if __name__ == "__main__":
    main()
