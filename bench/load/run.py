"""Mixed load against a private stack, then the consistency check and the leak scan (see README, Operations)."""

import argparse
import base64
import json
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.load.stack import PG_BIN, ROOT, VENV_BIN, Stack
from pins.format import pin_display

BODY = re.compile(r'\\"body\\": \\"([A-Za-z0-9+/=]+)\\"')


@dataclass
class Run:
    """What a run leaves for its report: the stack, the client journal and the checks."""

    stack: Stack
    seconds: float = 0.0
    started: float = 0.0
    journal: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def requests(self) -> list[dict]:
        return [entry for entry in self.journal if entry["kind"] == "request"]

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append({"name": name, "ok": ok, "detail": detail})

    def at(self, second: float, what: str) -> float:
        """Sleep until `second` seconds into the load, note what happens then; returns the time."""
        time.sleep(max(0.0, self.started + second - time.time()))
        now = time.time()
        self.lines.append(f"{now - self.started:6.1f} s  {what}")
        print(self.lines[-1], flush=True)
        return now

    def note(self, what: str) -> None:
        self.lines.append(f"{time.time() - self.started:6.1f} s  {what}")
        print(self.lines[-1], flush=True)


def sql(stack: Stack, query: str) -> str:
    psql = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(stack.pg_port), "-U", "postgres", "-d", "portal"]
    result = subprocess.run([*psql, "-Atc", query], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


def wait_for_letters(stack: Stack, seconds: float) -> int:
    """Wait until no letter request is waiting for the worker (the beat hands stale ones over again)."""
    deadline = time.monotonic() + seconds
    waiting = -1
    while time.monotonic() < deadline:
        waiting = int(sql(stack, "select count(*) from letters_letterrequest where status = 'requested'") or -1)
        if waiting == 0:
            return 0
        time.sleep(2)
    return waiting


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def stats_lines(run: Run) -> list[str]:
    requests = run.requests()
    if not requests:
        return ["no requests"]
    span = max(r["t"] for r in requests) - min(r["t"] for r in requests) or 1
    by_kind = defaultdict(list)
    for entry in requests:
        by_kind[entry["name"]].append(entry)
    lines = [f"{'kind':<20} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}  statuses"]
    for kind in sorted(by_kind):
        entries = by_kind[kind]
        times = [e["ms"] for e in entries]
        statuses = Counter(e["status"] or e.get("error") for e in entries)
        codes = " ".join(f"{code}:{n}" for code, n in sorted(statuses.items(), key=str))
        lines.append(
            f"{kind:<20} {len(entries):>6} {len(entries) / span:>7.2f} {percentile(times, 50):>8.0f}"
            f" {percentile(times, 99):>8.0f}  {codes}"
        )
    total = len(requests)
    errors = Counter(e["status"] for e in requests if e["status"] >= 400 or not e["status"])
    lines.append(f"{'all':<20} {total:>6} {total / span:>7.2f}  over {span:.0f} s")
    lines.append("errors by status: " + (" ".join(f"{k}:{v}" for k, v in sorted(errors.items())) or "none"))
    return lines


def decode_broker_bodies(monitor: Path, out: Path) -> None:
    """Task messages carry their arguments base64-encoded: decode every body seen in the capture so it is scanned."""
    bodies = set(BODY.findall(monitor.read_text(errors="replace"))) if monitor.exists() else set()
    with out.open("w") as decoded:
        for body in sorted(bodies):
            decoded.write(base64.b64decode(body).decode(errors="replace") + "\n")


def leak_scan(run: Run, seed: dict) -> None:
    """Grep the database dump, every log (ours and PostgreSQL's) and the broker capture for every issued PIN."""
    stack = run.stack
    pins = {member["pin"] for member in seed["members"]}
    letter_pins = stack.tmp / "letter-pins.txt"
    if letter_pins.exists():
        pins |= set(letter_pins.read_text().split())
    patterns = stack.tmp / "patterns.txt"
    patterns.write_text("\n".join(sorted(pins | {pin_display(p) for p in pins})) + "\n")
    patterns.chmod(0o600)
    dump = stack.tmp / "dump.sql"
    stack.pg_dump(dump)
    decode_broker_bodies(stack.logs / "monitor.log", stack.logs / "broker-bodies.txt")
    targets = [dump, *sorted(stack.logs.glob("*.log")), *sorted(stack.logs.glob("*.jsonl"))]
    targets += [stack.logs / "broker-bodies.txt", stack.pgdata / "server.log"]
    found = {}
    for target in targets:
        result = subprocess.run(["grep", "-a", "-F", "-i", "-o", "-f", str(patterns), str(target)], capture_output=True)
        hits = len(result.stdout.splitlines())
        if hits:
            found[target.name] = hits
    # The scanner itself must work: a planted PIN, lower case in display form, has to be found.
    canary = stack.tmp / "canary.txt"
    canary.write_text(f"log line {pin_display(sorted(pins)[0]).lower()} end\n")
    planted = subprocess.run(["grep", "-a", "-F", "-i", "-q", "-f", str(patterns), str(canary)]).returncode == 0
    run.add("the leak scan finds a planted PIN (canary)", planted)
    scanned = ", ".join(f"{t.name} ({t.stat().st_size // 1024} KB)" for t in targets)
    detail = f"{len(pins)} PINs ({len(pins) - len(seed['members'])} from letter PDFs) in {scanned}"
    if found:
        detail += "; FOUND in " + ", ".join(f"{name}: {n}" for name, n in found.items())
    run.add("no issued PIN in the database dump, the logs or the broker traffic", not found, detail)


def run_load(
    *,
    name: str,
    seconds: float,
    member_users: int,
    staff_users: int,
    members: int,
    reissue_members: int,
    fault: Callable[[Run], None] | None = None,
    setup: Callable[[Stack], None] | None = None,
    letter_wait: float = 300,
    nodes: int = 1,
    s3: bool = False,
    after: Callable[[Run], None] | None = None,
) -> Run:
    """Start the stack, seed it, run Locust (and the fault, if any, meanwhile), then check and scan."""
    stack = Stack(name, nodes=nodes, s3=s3)
    run = Run(stack=stack)
    try:
        stack.start()
        seed_file = stack.tmp / "seed.json"
        stack.python("bench.load.seed", "--members", str(members), "--reissue-members", str(reissue_members),
                     "--staff", str(max(staff_users, 1)), "--out", str(seed_file))  # fmt: skip
        seed = json.loads(seed_file.read_text())
        journal = stack.logs / "journal.jsonl"
        classes = [c for c, n in (("MemberUser", member_users), ("StaffUser", staff_users)) if n]
        env = {**stack.env, "LOAD_SEED": str(seed_file), "LOAD_JOURNAL": str(journal),
               "LOAD_STAFF_USERS": str(staff_users), "LOAD_CLASSES": " ".join(classes)}  # fmt: skip
        users = member_users + staff_users
        if setup is not None:
            setup(stack)
        locust_log = (stack.logs / "locust.log").open("ab")
        started = run.started = time.time()
        options = ["--headless", "-u", str(users), "-r", str(users), "--run-time", f"{int(seconds)}s"]
        options += ["--host", f"http://127.0.0.1:{stack.web_port}", "--only-summary", "--loglevel", "WARNING"]
        locust = subprocess.Popen(
            [str(VENV_BIN / "locust"), "-f", "bench/load/locustfile.py", *options, *classes],
            cwd=ROOT,
            env=env,
            stdout=locust_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        print(f"load: {member_users} members + {staff_users} staff for up to {seconds:.0f} s", flush=True)
        if fault is not None:
            fault(run)
        locust.wait(seconds + 120)
        run.seconds = time.time() - started
        waiting = wait_for_letters(stack, letter_wait)
        if waiting:
            print(f"{waiting} letter requests still waiting after {letter_wait:.0f} s", flush=True)
        run.journal = [json.loads(line) for line in journal.read_text().splitlines()]
        checks_file = stack.tmp / "checks.json"
        stack.python("bench.load.check", "--journal", str(journal), "--out", str(checks_file),
                     "--letter-pins", str(stack.tmp / "letter-pins.txt"))  # fmt: skip
        run.checks[:0] = json.loads(checks_file.read_text())
        if after is not None:
            after(run)
        nodes = [f"gunicorn-{index}" for index in range(1, len(stack.node_ports) + 1)]
        for process in ("beat", "worker", "nginx", "gunicorn", *nodes):
            stack.stop(process)
        leak_scan(run, seed)
    finally:
        stack.shutdown()
    return run


def report(run: Run, title: str) -> bool:
    """Print and save the figures and PASS/FAIL per check; True when every check passed."""
    lines = [f"{title} — {time.strftime('%Y-%m-%d %H:%M')} — {run.seconds:.0f} s", *stats_lines(run), *run.lines, ""]
    for result in run.checks:
        lines.append(f"{'PASS' if result['ok'] else 'FAIL'}  {result['name']}: {result['detail']}")
    text = "\n".join(lines)
    print(text, flush=True)
    (run.stack.logs / "report.txt").write_text(text + "\n")
    return all(result["ok"] for result in run.checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="length of the load (default 1)")
    parser.add_argument("--members", type=int, default=8, help="concurrent member users (default 8)")
    parser.add_argument("--staff", type=int, default=2, help="concurrent call-centre users (default 2)")
    parser.add_argument("--s3", action="store_true", help="store files in moto's S3 server instead of local disk")
    parser.add_argument(
        "--two-nodes",
        action="store_true",
        help="nginx round robin over two gunicorn nodes with separate folders, on S3",
    )
    args = parser.parse_args()
    seconds = args.minutes * 60
    nodes, s3 = (2, True) if args.two_nodes else (1, args.s3)
    run = run_load(
        name="load-two-nodes" if nodes == 2 else "load",
        nodes=nodes,
        s3=s3,
        seconds=seconds,
        member_users=args.members,
        staff_users=args.staff,
        # Enough members and reissues that time, not the seed, ends the run.
        members=int(seconds * args.members / 5) + 20,
        reissue_members=int(seconds * args.staff / 1.5) + 10,
    )
    no_5xx = [e for e in run.requests() if e["status"] >= 500]
    run.add("no 5xx answer", not no_5xx, f"{len(no_5xx)} of {len(run.requests())}")
    mode = " on two nodes behind nginx, S3 (moto)" if nodes == 2 else (" on S3 (moto)" if s3 else "")
    sys.exit(0 if report(run, f"load run{mode}, {args.members} members + {args.staff} staff") else 1)


if __name__ == "__main__":
    main()
