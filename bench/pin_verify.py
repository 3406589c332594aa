"""Benchmark: login verifications per second through pins.services.pin_verify against raw Argon2.

Run by hand: `.venv/bin/python bench/pin_verify.py [--rounds 5 --per-round 20]`, with DATABASE_URL set for
PostgreSQL (else SQLite). Cases run interleaved round by round so that machine noise hits them alike; it
prints each rate, its ratio to the raw rate (goal >= 0.95) and the Argon2 verifications per attempt (goal 1).
Every case runs twice: with the commit waiting for its WAL flush (PIN_ATTEMPT_SYNCHRONOUS_COMMIT=True, the
default) and without; the commit's fsync alone is printed too, since it bounds the ratio on a slow disk.
Beside the wall clock it prints the CPU each attempt cost: this process's (time.process_time) and, on
PostgreSQL on this host, the database backend's serving it (/proc/<pid>/schedstat, nanoseconds on the CPU),
with the ratio of raw Argon2's CPU to the attempt's CPU in both: on a loaded machine the wall-clock ratio also
charges other jobs' time, the CPU ratio does not. The round trips of one attempt (what the database received
at once: an attempt's BEGIN travels with its lookup and its COMMIT with its write) are counted once per case
outside the timed rounds. The load average is
printed before and after.
Before it prints, it checks that every timed attempt did the work: each service call answered as its case must
(the right PIN logs in, every other case is refused) and evaluated exactly one Argon2 hash.
"""

import argparse
import os
import statistics
import time
from pathlib import Path

from _django import setup_test_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=20)
    args = parser.parse_args()
    teardown = setup_test_database()
    try:
        run(rounds=args.rounds, per_round=args.per_round)
    finally:
        teardown()


def backend_cpu_reader(connection):
    """A function returning the CPU seconds of the PostgreSQL backend serving `connection`, or None when the
    database is not PostgreSQL on this host (or its /proc entry cannot be read)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
    try:
        stat.read_text()
    except OSError:
        return None
    return lambda: int(stat.read_text().split()[0]) / 1e9


def run(*, rounds: int, per_round: int) -> None:
    import datetime

    from argon2 import PasswordHasher
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from audit.services import Actor
    from members.services import member_upsert
    from pins import hashing
    from pins.services import pin_issue, pin_verify

    calls = {"n": 0, "cpu": 0.0}
    original_verify = PasswordHasher.verify

    def counting(self, hash_, password):
        calls["n"] += 1
        start = time.process_time()
        try:
            return original_verify(self, hash_, password)
        finally:
            calls["cpu"] += time.process_time() - start

    PasswordHasher.verify = counting

    def member(kvnr: str, pins: int):
        m, _ = member_upsert(
            kvnr=kvnr,
            data={
                "first_name": "Bench",
                "last_name": kvnr,
                "street": "Weg 1",
                "postcode": "12345",
                "town": "Ort",
                "egk_valid_until": timezone.localdate() + datetime.timedelta(days=999),
            },
        )
        return m, [pin_issue(member=m, purpose="bench", actor=Actor.system()).plaintext for _ in range(pins)]

    from django.db import transaction

    from pins.constants import PinStatus
    from pins.models import LetterPin
    from tests.factories import make_kvnr

    one, one_pins = member("A123456780", 1)
    five, five_pins = member("Z123456783", 5)
    locked, locked_pins = member(make_kvnr(5_550_001), 1)
    LetterPin.objects.filter(member=locked).update(status=PinStatus.LOCKED, failed_attempts=5)
    raw_hash = hashing.pin_hash_create("ABCDEFGHJKLM")
    hasher = hashing.hasher()
    unknown = make_kvnr(5_550_002)

    # Wrong guesses never lock here (the limit is out of reach), so every round evaluates the same path.
    settings.PIN_MAX_FAILED_ATTEMPTS = 10**9
    guessed, guessed_pins = member(make_kvnr(5_550_003), 1)
    wrong = guessed_pins[0][:-1] + ("A" if guessed_pins[0][-1] != "A" else "B")
    no_selector = ("ZZ" if not guessed_pins[0].startswith("ZZ") else "YY") + guessed_pins[0][2:]

    def fsync_only(i):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE pins_letterpin SET last_login_at = CURRENT_TIMESTAMP WHERE id = %s", [0])
            cursor.execute(
                "INSERT INTO audit_auditevent (at, actor_kind, action, reason, data) "
                "VALUES (CURRENT_TIMESTAMP, 'system', 'bench', '', '{}')"
            )

    # Each service case and whether its attempts must succeed.
    expected_ok = {
        "service, success 1 PIN": True,
        "service, success 5 PINs": True,
        "service, unknown KVNR": False,
        "service, wrong PIN": False,
        "service, no such selector": False,
        "service, locked PIN": False,
    }
    base = {
        "raw argon2 verify": lambda i: hasher.verify(raw_hash, "ABCDEFGHJKLM"),
        "service, success 1 PIN": lambda i: pin_verify(kvnr=one.kvnr, pin=one_pins[0], ip="127.0.0.1"),
        "service, success 5 PINs": lambda i: pin_verify(kvnr=five.kvnr, pin=five_pins[i % 5], ip="127.0.0.1"),
        "service, unknown KVNR": lambda i: pin_verify(kvnr=unknown, pin="ABCD-EFGH-JKLM", ip="127.0.0.1"),
        "service, wrong PIN": lambda i: pin_verify(kvnr=guessed.kvnr, pin=wrong, ip="127.0.0.1"),
        "service, no such selector": lambda i: pin_verify(kvnr=guessed.kvnr, pin=no_selector, ip="127.0.0.1"),
        "service, locked PIN": lambda i: pin_verify(kvnr=locked.kvnr, pin=locked_pins[0], ip="127.0.0.1"),
    }

    answers: dict[str, list[bool]] = {}

    def with_sync(name: str, case, sync: bool):
        seen = answers.setdefault(name, [])

        def run_case(i):
            settings.PIN_ATTEMPT_SYNCHRONOUS_COMMIT = sync
            seen.append(case(i).ok)

        return run_case

    cases = {"raw argon2 verify": base["raw argon2 verify"], "write + commit alone": fsync_only}
    for name, case in base.items():
        if name.startswith("service"):
            cases[name] = with_sync(name, case, True)
            off = name.replace("service", "sync off")
            cases[off] = with_sync(off, case, False)
    round_trips = {}
    for name, case in cases.items():
        if name != "raw argon2 verify":
            with CaptureQueriesContext(connection) as queries:
                case(0)
            round_trips[name] = len(queries.captured_queries)
    for seen in answers.values():
        seen.clear()  # the timed rounds' answers only
    backend_cpu = backend_cpu_reader(connection)
    load_before = os.getloadavg()
    seconds = dict.fromkeys(cases, 0.0)
    cpu = dict.fromkeys(cases, 0.0)
    argon2_cpu = dict.fromkeys(cases, 0.0)
    db_cpu = dict.fromkeys(cases, 0.0)
    per_attempt = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            before, argon2_start = calls["n"], calls["cpu"]
            db_start = backend_cpu() if backend_cpu else 0.0
            cpu_start = time.process_time()
            start = time.perf_counter()
            for i in range(per_round):
                case(i)
            seconds[name] += time.perf_counter() - start
            cpu[name] += time.process_time() - cpu_start
            argon2_cpu[name] += calls["cpu"] - argon2_start
            db_cpu[name] += (backend_cpu() - db_start) if backend_cpu else 0.0
            per_attempt[name].append((calls["n"] - before) / per_round)
    load_after = os.getloadavg()

    total = rounds * per_round
    for name, seen in answers.items():
        want = expected_ok[name.replace("sync off", "service")]
        assert len(seen) == total, f"{name}: {len(seen)} attempts answered, {total} timed"
        assert all(ok == want for ok in seen), f"{name}: an attempt was {'refused' if want else 'let in'}"
    for name, counts in per_attempt.items():
        want = 0 if name == "write + commit alone" else 1
        assert all(count == want for count in counts), f"{name}: {counts} Argon2 verifications per attempt"
    raw_rate = total / seconds["raw argon2 verify"]
    raw_cpu = argon2_cpu["raw argon2 verify"] / total
    print(f"database: {connection.vendor}; argon2id {settings.PIN_ARGON2}; {rounds} rounds x {per_round}")
    print(f"load average before: {_load(load_before)}; after: {_load(load_after)}")
    db_note = "database backend CPU read from /proc" if backend_cpu else "database backend CPU not measured (0)"
    print(
        f"CPU per attempt: argon2 = inside Argon2's verify, other = the rest of this process, db = {db_note};\n"
        "cpu ratio = raw Argon2's CPU / (raw Argon2's CPU + other + db): what the attempt adds beside its Argon2,\n"
        "counted apart from Argon2 itself, whose CPU time on a loaded machine varies with the others' cache use"
    )
    print(
        f"{'case':<30}{'per second':>12}{'ms each':>10}{'ratio to raw':>14}{'argon2 per attempt':>20}"
        f"{'argon2 ms':>11}{'other ms':>10}{'db ms':>8}{'cpu ratio':>11}{'round trips':>13}"
    )
    for name in cases:
        rate = total / seconds[name]
        attempt_argon2 = argon2_cpu[name] / total
        other, attempt_db = cpu[name] / total - attempt_argon2, db_cpu[name] / total
        row = f"{name:<30}{rate:>12.1f}{1000 / rate:>10.2f}{rate / raw_rate:>14.3f}"
        row += f"{statistics.mean(per_attempt[name]):>20.2f}{attempt_argon2 * 1000:>11.2f}{other * 1000:>10.2f}"
        row += f"{attempt_db * 1000:>8.2f}{raw_cpu / (raw_cpu + other + attempt_db):>11.3f}"
        print(f"{row}{round_trips.get(name, 0):>13}")
    print(f"checked: {len(answers) * total} attempts answered as their case must, one Argon2 verification each")


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


if __name__ == "__main__":
    main()
