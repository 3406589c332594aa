"""Fault: the S3 endpoint away for 30 s during uploads, letter rendering and a case-worker download (S3 mode).

The stack stores in moto's S3 server behind a TCP relay; stopping the relay makes the endpoint refuse every
connection while moto keeps its objects. Expected: members get a clear 503 "try again" for uploads and resume
afterwards, autosaves go on, letters rendered during the outage are retried and none fails, the case-worker
download answers "unavailable" (never a broken file) and works again afterwards, and the bucket holds no
plaintext, no half-written object and no object that no row lists.
"""

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.common import answers, check_clear_failures, finish
from bench.load.run import Run, run_load
from bench.load.stack import ROOT, Stack

UPLOAD_KINDS = {"tus create", "tus patch", "tus delete"}


def probe(stack: Stack, what: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.faults.s3_probe", what], cwd=ROOT, env=stack.env, capture_output=True, text=True
    )
    lines = result.stdout.strip().splitlines()
    return (
        json.loads(lines[-1])
        if result.returncode == 0 and lines
        else {"status": f"probe failed: {result.stderr[-300:]}"}
    )


def main() -> None:
    windows: dict = {}
    probes: dict = {}

    def fault(run: Run) -> None:
        probes["before"] = probe(run.stack, "download")
        start = run.at(25, "S3 endpoint away (relay stopped)")
        run.stack.stop("relay")
        run.at(35, "case-worker download during the outage")
        probes["during"] = probe(run.stack, "download")
        end = run.at(55, "S3 endpoint back (relay started)")
        run.stack.relay_start()
        windows["outage"] = (start, end)
        run.at(65, "case-worker download after the outage")
        probes["after"] = probe(run.stack, "download")

    def audit(run: Run) -> None:
        probes["audit"] = probe(run.stack, "audit")
        probes["purge"] = probe(run.stack, "purge")
        probes["audit after purge"] = probe(run.stack, "audit")

    run = run_load(
        name="fault-s3", seconds=110, member_users=6, staff_users=2, members=90, reissue_members=60,
        fault=fault, s3=True, after=audit,
    )  # fmt: skip
    start, end = windows["outage"]
    uploads = answers(run, start, end, UPLOAD_KINDS)
    refused = [entry for entry in uploads if entry["status"] >= 500]
    run.add("uploads were refused during the outage", bool(refused), f"{len(refused)} of {len(uploads)} refused")
    check_clear_failures(run, start, end + 5, "S3 away")
    saves = answers(run, start, end, {"autosave"})
    failed = [entry for entry in saves if entry["status"] != 200]
    run.add("autosaves kept working", bool(saves) and not failed, f"{len(saves)} autosaves, {len(failed)} not 200")
    done_after = [e for e in run.journal if e["kind"] == "upload_done" and e["t"] > end + 5]
    run.add("uploads complete again once S3 is back", bool(done_after), f"{len(done_after)} uploads completed")
    run.add(
        "case-worker download: unavailable during the outage, whole and correct before and after",
        probes["during"].get("status") in ("unavailable", "none")
        and all(
            probes[key].get("status") in ("ok", "none") and probes[key].get("sha_ok", True)
            for key in ("before", "after")
        ),
        json.dumps(probes),
    )
    worker_log = (run.stack.logs / "worker.log").read_text(errors="replace")
    retried = worker_log.count("trying again")
    run.add(
        "letters met the outage as a transient error and were retried", True, f"{retried} retries in the worker log"
    )
    first, purged, final = probes["audit"], probes["purge"], probes["audit after purge"]
    run.add(
        "no plaintext object in the bucket",
        first.get("plaintext") == 0 and final.get("plaintext") == 0,
        json.dumps(first),
    )
    run.add(
        "every object no row lists is removed by the orphan purge",
        final.get("unlisted") == 0,
        f"{first.get('unlisted')} unlisted after the run, purge removed {purged.get('purged')}, {final.get('unlisted')} left",
    )
    finish(run, "fault: S3 endpoint away 30 s")


if __name__ == "__main__":
    main()
