"""Benchmark: login verifications per second through pins.services.pin_verify against raw Argon2.

Run by hand: `.venv/bin/python bench/pin_verify.py [--rounds 5 --per-round 20]`, with DATABASE_URL set for
PostgreSQL (else SQLite). Cases run interleaved round by round so that machine noise hits them alike; it
prints each rate, its ratio to the raw rate (goal >= 0.95) and the Argon2 verifications per attempt (goal 1).
"""

import argparse
import statistics
import time

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


def run(*, rounds: int, per_round: int) -> None:
    import datetime

    from argon2 import PasswordHasher
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from audit.services import Actor
    from members.services import member_upsert
    from pins import hashing
    from pins.services import pin_issue, pin_verify

    calls = {"n": 0}
    original_verify = PasswordHasher.verify

    def counting(self, hash_, password):
        calls["n"] += 1
        return original_verify(self, hash_, password)

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

    one, one_pins = member("A123456780", 1)
    five, five_pins = member("Z123456783", 5)
    raw_hash = hashing.hash_pin("ABCDEFGHJKLM")
    hasher = hashing.hasher()

    cases = {
        "raw argon2 verify": lambda i: hasher.verify(raw_hash, "ABCDEFGHJKLM"),
        "service, 1 active PIN": lambda i: pin_verify(kvnr=one.kvnr, pin=one_pins[0], ip="127.0.0.1"),
        "service, 5 active PINs": lambda i: pin_verify(kvnr=five.kvnr, pin=five_pins[i % 5], ip="127.0.0.1"),
        "service, unknown KVNR": lambda i: pin_verify(kvnr="B123456781", pin="ABCD-EFGH-JKLM", ip="127.0.0.1"),
    }
    seconds = dict.fromkeys(cases, 0.0)
    per_attempt = {name: [] for name in cases}
    for _ in range(rounds):
        for name, case in cases.items():
            before = calls["n"]
            start = time.perf_counter()
            for i in range(per_round):
                case(i)
            seconds[name] += time.perf_counter() - start
            per_attempt[name].append((calls["n"] - before) / per_round)

    total = rounds * per_round
    raw_rate = total / seconds["raw argon2 verify"]
    print(f"database: {connection.vendor}; argon2id {settings.PIN_ARGON2}; {rounds} rounds x {per_round}")
    print(f"{'case':<26}{'per second':>12}{'ratio to raw':>14}{'argon2 per attempt':>20}")
    for name in cases:
        rate = total / seconds[name]
        print(f"{name:<26}{rate:>12.1f}{rate / raw_rate:>14.3f}{statistics.mean(per_attempt[name]):>20.2f}")


if __name__ == "__main__":
    main()
