"""Benchmark: a whole campaign on a private PostgreSQL + Redis with a Celery worker of 2 processes.

Run by hand as root from the project folder:  .venv/bin/python bench/campaign.py [--members 100000]

It starts its own stack (bench/load/stack.py: initdb into a temporary folder, Redis without persistence, the
worker with concurrency 2, beat), imports `--members` members, measures in the same run the bound a campaign can
reach here, (one Argon2id PIN hash + one campaign-path render) per letter on 2 processes, then creates a campaign for
every member, starts it and follows it until every letter is issued, hashed, rendered and batched. It prints the
count query that proves every letter made once (no letter lost or doubled) and batched, and only if it passes the
total time, letters/s, the ratio to the bound both in wall-clock and in CPU seconds, where the CPU a letter costs
is counted twice: the worker's alone, and all of it (the worker's processes, the PostgreSQL cluster's processes
including backends that have ended, and redis-server; read from /proc/<pid>/stat before and after), the load
average beside each; when the first print batch was formed (rendered letters at that moment, against
CAMPAIGN_BATCH_SIZE); PostgreSQL rows and disk and the encrypted letter files (per letter and shared layers) per
1,000 letters. It exits with 1 otherwise. Everything it started is stopped.
"""

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load.stack import Stack  # noqa: E402

TABLES = [
    "letters_letterrequest",
    "letters_letterstatuschange",
    "letters_printbatch",
    "pins_letterpin",
    "audit_auditevent",
    "campaigns_campaignrecipient",
    "campaigns_campaignbatch",
]


def seed_members(count: int) -> list[str]:
    from bench._members import bench_members_bulk_create

    kvnrs = []
    for start in range(0, count, 5000):
        members = bench_members_bulk_create(
            first=start,
            count=min(5000, count - start),
            kvnr_letter="C",
            street=lambda n: f"Heidestraße {n % 200 + 1}",
            language=lambda n: "de" if n % 5 else "en",
        )
        kvnrs += [member.kvnr for member in members]
    return kvnrs


def bound_per_letter(samples: int = 40) -> tuple[float, float]:
    """Seconds of CPU for one Argon2id PIN hash and for one campaign-path render (groups of ten), measured here."""
    import dataclasses

    from letters.layered import render_campaign_letters
    from pins import hashing
    from pins.format import pin_generate
    from tests.letters.factories import letter_content

    start = time.process_time()
    for _ in range(samples // 4):
        hashing.pin_hash_create(pin_generate(selector="AB"))
    hash_cpu = (time.process_time() - start) / (samples // 4)
    base = letter_content(
        reference="B-00000001",
        purpose="",
        valid_until=datetime.date(2027, 1, 31),
        letter_date=datetime.date(2026, 12, 2),
        case_title="Familienversicherung 2027",
        kvnr="C000000001",
    )
    contents = [dataclasses.replace(base, full_name=f"Erika Mustermann{n}") for n in range(10)]
    render_campaign_letters(contents=contents, template="standard")
    start = time.process_time()
    for _ in range(samples // 10):
        render_campaign_letters(contents=contents, template="standard")
    render_cpu = (time.process_time() - start) / (samples // 10 * 10)
    return hash_cpu, render_cpu


def _ticks(pid: int, *, reaped: bool = False) -> int:
    """utime + stime of a process (and, with `reaped`, of its children that ended and were waited for)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # ended since it was listed
        return 0
    return sum(int(value) for value in fields[11 : 15 if reaped else 13])


def worker_cpu_seconds(stack: Stack) -> float:
    """CPU seconds used so far by the worker's main process and its pool children."""
    ticks = sum(_ticks(pid) for pid in [stack.processes["worker"].pid, *stack.worker_pool_children()])
    return ticks / os.sysconf("SC_CLK_TCK")


def postmaster_pid(stack: Stack) -> int:
    return int((stack.pgdata / "postmaster.pid").read_text().split()[0])


def postgres_cpu_seconds(stack: Stack) -> tuple[int, float]:
    """(postmaster pid, CPU seconds so far) of the cluster: the postmaster with the backends it has reaped, and
    each running child (backends, checkpointer, WAL writer, ...) with what it has reaped."""
    pid = postmaster_pid(stack)
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ticks = _ticks(pid, reaped=True) + sum(_ticks(int(child), reaped=True) for child in children)
    return pid, ticks / os.sysconf("SC_CLK_TCK")


def redis_cpu_seconds(stack: Stack) -> float:
    return _ticks(stack.processes["redis"].pid, reaped=True) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(stack: Stack) -> dict:
    pg_pid, pg = postgres_cpu_seconds(stack)
    return {"worker": worker_cpu_seconds(stack), "postgres": pg, "redis": redis_cpu_seconds(stack), "pg_pid": pg_pid}


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def sql(stack: Stack, query: str) -> str:
    result = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(stack.pg_port), "-U", "postgres", "-d", "portal", "-Atc", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def run(name: str, members_count: int, timeout: int, fault=None, env: dict | None = None) -> bool:
    """Run a campaign on a private stack; `fault(stack, progress, elapsed)` is called every few seconds while it
    runs (the fault scripts). Returns True when every letter was made exactly once and batched."""
    stack = Stack(name)
    try:
        print(f"stack: {stack.tmp} (logs in {stack.logs})", flush=True)
        stack.private.mkdir(parents=True, exist_ok=True)
        stack.env["LOG_LEVEL"] = "WARNING"
        stack.env.update(env or {})
        print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {load()}, {os.cpu_count()} CPUs")
        stack.pg_init()
        stack.redis_start()
        if fault is None:
            # Redis copies every command to the leak scan's monitor; this bench does not scan, so Redis is
            # measured doing only the portal's work.
            stack.stop("monitor")
        stack.manage("migrate", "-v0")
        os.environ.update(stack.env)
        import django

        django.setup()
        started = time.perf_counter()
        kvnrs = seed_members(members_count)
        print(f"{len(kvnrs)} members imported in {time.perf_counter() - started:.1f} s", flush=True)

        hash_cpu, render_cpu = bound_per_letter()
        bound = 2 / (hash_cpu + render_cpu)
        print(
            f"bound here: Argon2id hash {hash_cpu * 1000:.1f} ms + campaign render {render_cpu * 1000:.1f} ms per letter"
            f" -> {bound:.1f} letters/s on 2 processes",
            flush=True,
        )

        from campaigns.selectors import campaign_progress
        from campaigns.services import MemberList, campaign_create, campaign_start

        started = time.perf_counter()
        members = MemberList(entries=list(enumerate(kvnrs, start=1)))
        campaign = campaign_create(
            name="Bench", case_title="Familienversicherung 2027", template="standard", validity_days=60,
            members=members, user=None,
        )  # fmt: skip
        print(
            f"campaign {campaign.reference}: {campaign.recipient_count} recipients in {time.perf_counter() - started:.1f} s"
        )

        stack.worker_start()
        stack.beat_start()
        cpu_before = cpu_snapshot(stack)
        started = time.perf_counter()
        campaign_start(campaign_id=campaign.pk, user=None)
        last = -1
        while True:
            campaign.refresh_from_db()
            progress = campaign_progress(campaign=campaign)
            elapsed = time.perf_counter() - started
            if progress["rendered"] != last:
                print(
                    f"  {elapsed:7.1f} s  rendered {progress['rendered']:7}  batched {progress['batched']:7}"
                    f"  failed {progress['failed']}  {progress['rendered'] / max(elapsed, 0.001):6.1f} letters/s",
                    flush=True,
                )
                last = progress["rendered"]
            if progress["status"] == "finished" and progress["batched"] == progress["rendered"]:
                break
            if fault is not None:
                fault(stack, progress, elapsed)
            if elapsed > timeout:
                print("timeout: the campaign did not finish")
                break
            time.sleep(5)
        total = time.perf_counter() - started
        cpu_after = cpu_snapshot(stack)
        cpu = {name: cpu_after[name] - cpu_before[name] for name in ("worker", "postgres", "redis")}
        letters = progress["rendered"]
        counts = sql(
            stack,
            "select count(r.id), count(r.letter_id), count(distinct l.member_id), count(distinct l.pin_id),"
            " count(l.batch_id), count(distinct l.id) from campaigns_campaignrecipient r"
            " left join letters_letterrequest l on l.id = r.letter_id",
        ).split("|")
        recipients, with_letter, members_with_letter, pins, batched, distinct_letters = map(int, counts)
        per_member = sql(
            stack,
            "select coalesce(max(c), 0) from (select member_id, count(*) c from letters_letterrequest group by member_id) x",
        )
        batch_sum = sql(stack, "select coalesce(sum(letter_count), 0) from letters_printbatch")
        ok = recipients == with_letter == members_with_letter == pins == batched == distinct_letters == int(batch_sum)
        print(
            f"count query: recipients {recipients}, with a letter {with_letter}, members with a letter"
            f" {members_with_letter}, PINs {pins}, in a batch {batched}, batch sizes sum {batch_sum}, most letters"
            f" for one member {per_member} -> {'PASS' if ok and per_member == '1' else 'FAIL'}"
        )
        if not (ok and per_member == "1" and progress["status"] == "finished" and letters == members_count):
            print(f"FAIL: {letters} of {members_count} letters made exactly once and batched; no rate printed")
            return False
        first_batch_at = int(
            sql(
                stack,
                "select count(*) from letters_letterrequest where rendered_at <="
                " (select min(prepared_at) from letters_printbatch)",
            )
            or 0
        )
        from django.conf import settings

        batch_size = settings.CAMPAIGN_BATCH_SIZE
        rate = letters / total
        per_letter = hash_cpu + render_cpu
        print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {load()} (at the end of the run)")
        print(f"total {total:.1f} s for {letters} letters: {rate:.1f} letters/s ({load()})")
        print(
            f"ratio to the bound, wall clock: {rate / bound:.2f} (goal >= 0.85; a machine shared with other work"
            f" lowers it) ({load()})"
        )
        print(
            f"first print batch formed when {first_batch_at} letters were rendered (CAMPAIGN_BATCH_SIZE {batch_size})"
        )
        worker_cpu = cpu["worker"]
        print(
            f"worker CPU {worker_cpu:.1f} s = {worker_cpu / letters * 1000:.1f} ms per letter against the bound's"
            f" {per_letter * 1000:.1f} ms: ratio per CPU second, worker only {per_letter * letters / worker_cpu:.2f}"
            f" ({load()})"
        )
        if cpu_after["pg_pid"] != cpu_before["pg_pid"]:
            print("all CPU: n/a (PostgreSQL was restarted during the run; its CPU before the restart is lost)")
        else:
            every = sum(cpu.values())
            print(
                f"all CPU {every:.1f} s = {every / letters * 1000:.1f} ms per letter (worker {worker_cpu / letters * 1000:.1f}"
                f" + PostgreSQL {cpu['postgres'] / letters * 1000:.1f} + Redis {cpu['redis'] / letters * 1000:.1f} ms):"
                f" ratio per CPU second, all CPU {per_letter * letters / every:.2f} (goal >= 0.85) ({load()})"
            )

        rows = {table: int(sql(stack, f"select count(*) from {table}")) for table in TABLES}  # noqa: S608 (our names)
        size = {table: int(sql(stack, f"select pg_total_relation_size('{table}')")) for table in TABLES}
        files = sum(path.stat().st_size for path in (stack.private / "letters").glob("*.enc"))
        layers = list((stack.private / "letters" / "layers").glob("*.enc"))
        shared = sum(path.stat().st_size for path in layers)
        per = 1000 / max(letters, 1)
        print(
            f"per 1,000 letters: {sum(rows.values()) * per:,.0f} rows, {sum(size.values()) * per / 2**20:.1f} MiB in"
            f" PostgreSQL, {(files + shared) * per / 2**20:.2f} MiB of encrypted PDFs ({files * per / 2**20:.2f} MiB"
            f" letters' variable pages + {len(layers)} shared layers of {shared / 2**10:.0f} KB in all)"
        )
        print(f"bytes stored per letter: {(files + shared) / letters / 1024:.1f} KB (goal <= 10 KB)")
        for table in TABLES:
            print(f"  {table:30} {rows[table] * per:8,.0f} rows  {size[table] * per / 2**20:7.2f} MiB")
        return True
    finally:
        stack.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--timeout", type=int, default=4 * 3600, help="give up after this many seconds")
    parser.add_argument("--batch-size", type=int, help="CAMPAIGN_BATCH_SIZE for this run (default: the setting's)")
    args = parser.parse_args()
    env = {"CAMPAIGN_BATCH_SIZE": str(args.batch_size)} if args.batch_size else {}
    sys.exit(0 if run("campaign", args.members, args.timeout, env=env) else 1)


if __name__ == "__main__":
    main()
