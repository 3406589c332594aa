"""Benchmark, run by hand: does the login's answer time tell whether a KVNR exists? (issue 13.2)

Starts gunicorn (2 sync workers, DEBUG off, production's CONN_MAX_AGE) with the portal on a throw-away PostgreSQL
database (created on DATABASE_URL's server, dropped afterwards) and times POST /anmelden/ for four cases,
interleaved in random order round by round so that machine noise hits them alike:

- unknown KVNR (valid check digit, no member);
- known KVNR, wrong PIN (the right selector, a wrong secret);
- known KVNR, a selector naming none of the member's PINs;
- known KVNR, a locked PIN (the right PIN, even).

The address throttle and attack mode are set out of reach and PINs never lock during the run (the five-entry
rule is raised), so every sample runs the full login path. Prints each case's median and p90, the largest
difference of medians (goal: within 1 ms) and a two-sided Mann-Whitney U p-value of each case against the
unknown KVNR, and checks that the four answers carry the same status, headers and body. Before it prints, it
checks that every timed attempt was a refused login: HTTP 200 with the login form again (not a redirect, a CSRF
refusal or the throttle), so that the medians compare the full login path.

Usage: DATABASE_URL=postgres://... CACHE_URL=redis://... .venv/bin/python bench/enumeration.py [--samples 200]
"""

import argparse
import math
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _http

CASES = ("unknown KVNR", "wrong PIN", "no such selector", "locked PIN")


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation with tie correction)."""
    values = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(values)
    i = 0
    ties = 0.0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1][0] == values[i][0]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[k] = rank
        size = j - i + 1
        ties += size**3 - size
        i = j + 1
    n1, n2 = len(a), len(b)
    r1 = sum(rank for rank, (_v, group) in zip(ranks, values, strict=True) if group == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (u1 - mean) / sigma if sigma else 0.0
    return math.erfc(abs(z) / math.sqrt(2))


def prepare() -> dict[str, tuple[str, str]]:
    from bench._members import bench_member_with_pin
    from members.kvnr import kvnr_check_digit
    from pins.constants import PinStatus
    from pins.models import LetterPin

    issued = bench_member_with_pin(number=72_000_001, last_name="Bekannt", purpose="bench/enumeration.py")
    locked = bench_member_with_pin(number=72_000_002, last_name="Gesperrt", purpose="bench/enumeration.py")
    LetterPin.objects.filter(pk=locked.pin.pk).update(status=PinStatus.LOCKED, failed_attempts=5)
    kvnr, pin = issued.pin.member.kvnr, issued.plaintext
    wrong = pin[:-1] + ("A" if pin[-1] != "A" else "B")
    other = "ZZ" if issued.pin.selector != "ZZ" else "YY"
    head = "B72000999"
    return {
        "unknown KVNR": (head + str(kvnr_check_digit(head)), pin),
        "wrong PIN": (kvnr, wrong),
        "no such selector": (kvnr, other + pin[2:]),
        "locked PIN": (locked.pin.member.kvnr, locked.plaintext),
    }


def post(port: int, csrf: str, kvnr: str, pin: str):
    start = time.perf_counter()
    status, headers, body = _http.login_post(port, csrf, {"kvnr": kvnr, "pin": pin})
    return time.perf_counter() - start, status, headers, body


def comparable(headers, body: bytes, kvnr: str) -> tuple:
    text = body.decode()
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text).replace(kvnr, "")
    # The times in Date, Expires and a cookie's expiry move with the clock, the same for every case; each
    # request has its own X-Request-ID.
    kept = tuple(
        sorted(
            (k, re.sub(r"expires=[^;]*", "expires=", v))
            for k, v in headers.items()
            if k.lower() not in ("date", "expires", "content-length", "x-request-id")
        )
    )
    return kept, text


def assert_refused_logins(samples: dict, statuses: dict, answers: dict, count: int) -> None:
    """Every case was timed `count` times, and each answer was the login page again (a refused login)."""
    for case in CASES:
        assert len(samples[case]) == count, f"{case}: {len(samples[case])} samples, {count} asked"
        assert statuses[case] == {200}, f"{case}: answered {sorted(statuses[case])}, not a refused login (200)"
        for _headers, text in answers[case]:
            assert 'name="kvnr"' in text and 'name="pin"' in text, f"{case}: the answer is not the login form"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200, help="samples per case (default 200)")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (a throw-away database is created there).")
    url, name = _http.create_database(base, "bench_enum")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),  # production's default
        "LOGIN_THROTTLE_IP_LIMIT": "1000000",
        "LOGIN_THROTTLE_GLOBAL_LIMIT": "1000000",
        "PIN_MAX_FAILED_ATTEMPTS": "1000000",
    }
    server = None
    try:
        _http.django_setup(env)
        from django.core.cache import cache

        cache.clear()
        cases = prepare()
        port = _http.free_port()
        server = _http.start_gunicorn(port, env)
        csrf = _http.csrf_token(port)
        for kvnr, pin in cases.values():  # warm both workers' connections and caches
            for _ in range(4):
                post(port, csrf, kvnr, pin)
        samples: dict[str, list[float]] = {case: [] for case in CASES}
        answers: dict[str, set] = {case: set() for case in CASES}
        statuses: dict[str, set] = {case: set() for case in CASES}
        for _ in range(args.samples):
            order = list(CASES)
            random.shuffle(order)
            for case in order:
                kvnr, pin = cases[case]
                elapsed, status, headers, body = post(port, csrf, kvnr, pin)
                samples[case].append(elapsed * 1000)
                statuses[case].add(status)
                answers[case].add(comparable(headers, body, kvnr))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        _http.drop_database(base, name)

    assert_refused_logins(samples, statuses, answers, args.samples)
    print(f"{args.samples} interleaved samples per case over HTTP (gunicorn 2 workers, PostgreSQL, CONN_MAX_AGE=60)")
    print(f"{'case':<20}{'median ms':>11}{'p90 ms':>9}{'p vs unknown':>14}{'status':>8}")
    medians = {}
    for case in CASES:
        medians[case] = statistics.median(samples[case])
        p = mann_whitney_p(samples[case], samples["unknown KVNR"]) if case != "unknown KVNR" else float("nan")
        print(
            f"{case:<20}{medians[case]:>11.2f}{_http.percentile(samples[case], 0.9):>9.2f}{p:>14.3f}"
            f"{','.join(map(str, sorted(statuses[case]))):>8}"
        )
    spread = max(medians.values()) - min(medians.values())
    distinct = {answer for values in answers.values() for answer in values}
    same = len(distinct) == 1
    if not same:
        headers = [dict(h) for h, _text in distinct]
        differing = {key for h in headers for key in h if len({str(other.get(key)) for other in headers}) > 1}
        print(f"differing headers: {sorted(differing) or 'none'}; distinct bodies: {len({t for _h, t in distinct})}")
    print(f"largest difference of medians: {spread:.2f} ms (goal <= 1 ms): {'PASS' if spread <= 1 else 'FAIL'}")
    print(f"same status, headers and body for all four: {'PASS' if same else 'FAIL'}")


if __name__ == "__main__":
    main()
