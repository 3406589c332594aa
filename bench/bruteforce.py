"""Brute force over HTTP, run by hand: random PINs from many source addresses against gunicorn on loopback.

Starts gunicorn (2 sync workers, DEBUG off) with the portal on a throw-away database (a new PostgreSQL database
on DATABASE_URL's server, dropped afterwards; without DATABASE_URL a temporary SQLite file), gives a few bench
members a fresh PIN each and guesses their PINs (the selector, which is not secret, plus ten random characters)
at a fixed rate, in three modes, each with a fresh gunicorn, fresh PINs and an empty throttle:

- plain:        every client socket is bound to its own loopback source address (127.0.0.2, 127.0.0.3, ...;
                the whole of 127/8 is loopback on Linux), TRUSTED_PROXY_COUNT=0;
- xff-trusted:  all requests come from 127.0.0.1, the "proxy", with X-Forwarded-For naming a different client
                each, TRUSTED_PROXY_COUNT=1: each forwarded address is counted as a client of its own;
- xff-forged:   a few real source addresses send a forged X-Forwarded-For with every request,
                TRUSTED_PROXY_COUNT=0: the forged header must not help the attacker.

Each mode sends `--addresses` clients x `--guesses` guesses in rounds (so every client reaches the per-address
limit), then a spray of `--spray` further clients with one guess each (so that the global limit is reached).
Afterwards it reads the database and prints the guesses sent, evaluated and throttled, the wrong entries counted
per PIN (at most five may be evaluated), how many PINs are locked, when and after how many guesses the address
throttle engaged per client, the global throttle, and PASS/FAIL lines. The server log is checked for the PINs.

Usage: [DATABASE_URL=postgres://...] [CACHE_URL=redis://...] .venv/bin/python bench/bruteforce.py
(CACHE_URL's Redis database is flushed; without it each worker throttles on its own, so one worker is used.)
"""

import argparse
import collections
import http.client
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"
BENCH_KVNR_BASE = 71_000_000
PIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MODES = ("plain", "xff-trusted", "xff-forged")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, default: all three")
    parser.add_argument("--members", type=int, default=3, help="members whose PINs are attacked (default 3)")
    parser.add_argument("--addresses", type=int, default=25, help="clients that keep guessing (default 25)")
    parser.add_argument("--guesses", type=int, default=30, help="guesses per such client (default 30)")
    parser.add_argument("--spray", type=int, default=150, help="further clients with one guess each (default 150)")
    parser.add_argument("--sources", type=int, default=4, help="real source addresses in xff-forged (default 4)")
    parser.add_argument("--rate", type=float, default=40, help="guesses per second, all clients together")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    return parser.parse_args()


# --- the throw-away database --------------------------------------------------------------------------------


def temp_database() -> tuple[str, Callable[[], None]]:
    """A new, empty database URL and a function that drops it."""
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        import psycopg

        parsed = urlparse(base)
        name = f"{parsed.path.lstrip('/') or 'portal'}_bruteforce_{os.getpid()}"
        admin = parsed._replace(path="/postgres").geturl()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return parsed._replace(path=f"/{name}").geturl(), drop
    folder = tempfile.mkdtemp(prefix="portal-bruteforce-")
    return f"sqlite:///{folder}/portal.sqlite3", lambda: shutil.rmtree(folder, ignore_errors=True)


def prepare_pins(count: int, *, offset: int) -> list[tuple[str, str, int]]:
    """Bench members with one fresh PIN each: (KVNR, selector, PIN id); the plaintext is not kept."""
    from bench._members import bench_member_with_pin

    targets = []
    for n in range(count):
        issued = bench_member_with_pin(
            number=BENCH_KVNR_BASE + offset + n, last_name=f"Ziel {offset + n}", purpose="bench/bruteforce.py"
        )
        ISSUED_PLAINTEXTS.append(issued.plaintext)  # only to check the server log for them afterwards
        targets.append((issued.pin.member.kvnr, issued.pin.selector, issued.pin.pk))
    return targets


ISSUED_PLAINTEXTS: list[str] = []


# --- HTTP -----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def request(port: int, method: str, path: str, *, source: str = HOST, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=60, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def start_gunicorn(port: int, env: dict[str, str], workers: int, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "portal.wsgi:application", "--workers", str(workers), "--bind", f"{HOST}:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if request(port, "GET", "/anmelden/")[0] == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not answer within 60 seconds")


def csrf_token(port: int) -> str:
    _status, headers, _body = request(port, "GET", "/anmelden/")
    jar = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return jar["csrftoken"].value


# --- the attack -----------------------------------------------------------------------------------------------


@dataclass
class Guess:
    client: str  # the address the portal should count: the source address, or the trusted forwarded one
    source: str  # the socket's source address
    forwarded: str | None
    kvnr: str
    selector: str
    spray: bool = False


@dataclass
class Outcome:
    guess: Guess
    status: int
    at: float  # seconds since the mode started


def forged_address(n: int) -> str:
    """Documentation and benchmarking ranges, never a real client."""
    return f"198.18.{n // 250}.{n % 250 + 1}"


def loopback_address(n: int) -> str:
    """127.0.0.2, 127.0.0.3, ...; 127.0.0.1 is left to the 'proxy' and the set-up requests."""
    n += 2
    return f"127.{n // 65536}.{n // 256 % 256}.{n % 256}"


def plan(mode: str, targets: list[tuple[str, str, int]], args: argparse.Namespace) -> list[Guess]:
    """Rounds over the persistent clients, then the one-guess spray; targets are taken in turn."""
    clients = [f"c{n}" for n in range(args.addresses)]
    spray = [f"s{n}" for n in range(args.spray)]
    order = [(c, False) for _round in range(args.guesses) for c in clients] + [(s, True) for s in spray]
    index = {name: n for n, name in enumerate(clients + spray)}
    guesses = []
    for n, (name, is_spray) in enumerate(order):
        kvnr, selector, _pk = targets[n % len(targets)]
        number = index[name]
        if mode == "plain":
            address = loopback_address(number)
            guesses.append(Guess(address, address, None, kvnr, selector, is_spray))
        elif mode == "xff-trusted":
            address = forged_address(number)
            guesses.append(Guess(address, HOST, address, kvnr, selector, is_spray))
        else:  # xff-forged: the same few real sources, a different forged address on every request
            source = loopback_address(n % args.sources)
            guesses.append(Guess(source, source, forged_address(n % 60_000), kvnr, selector, is_spray))
    return guesses


def attack(port: int, guesses: list[Guess], *, rate: float, threads: int) -> tuple[list[Outcome], float]:
    csrf = csrf_token(port)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    cursor = {"next": 0}
    start = time.monotonic()

    def client() -> None:
        while True:
            with lock:
                n = cursor["next"]
                if n >= len(guesses):
                    return
                cursor["next"] += 1
            due = start + n / rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            guess = guesses[n]
            pin = guess.selector + "".join(secrets.choice(PIN_ALPHABET) for _ in range(10))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={csrf}",
                "X-CSRFToken": csrf,
            }
            if guess.forwarded:
                headers["X-Forwarded-For"] = guess.forwarded
            try:
                status = request(
                    port,
                    "POST",
                    "/anmelden/",
                    source=guess.source,
                    body=urlencode({"kvnr": guess.kvnr, "pin": pin}),
                    headers=headers,
                )[0]
            except OSError:
                status = 0
            with lock:
                outcomes.append(Outcome(guess, status, time.monotonic() - start))

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(outcomes, key=lambda o: o.at), time.monotonic() - start


# --- the report ------------------------------------------------------------------------------------------------


@dataclass
class ClientStats:
    evaluated: int = 0  # answered with the login page: the guess was checked (and counted)
    throttled: int = 0
    evaluated_before_block: int | None = None
    first_block_at: float | None = None
    spray: bool = False
    statuses: collections.Counter = field(default_factory=collections.Counter)


def span(values: list[float], fmt: str = "{:.0f}") -> str:
    if not values:
        return "-"
    low, high = min(values), max(values)
    return fmt.format(low) if low == high else f"{fmt.format(low)}..{fmt.format(high)}"


def report(mode: str, outcomes: list[Outcome], wall: float, pin_ids: list[int], args, log_text: str, workers: int):
    from django.conf import settings

    from pins.constants import PinStatus
    from pins.models import LetterPin

    ip_limit, global_limit = settings.LOGIN_THROTTLE_IP_LIMIT, settings.LOGIN_THROTTLE_GLOBAL_LIMIT
    per_client: dict[str, ClientStats] = collections.defaultdict(ClientStats)
    statuses = collections.Counter(o.status for o in outcomes)
    for outcome in outcomes:
        stats = per_client[outcome.guess.client]
        if not stats.statuses:
            stats.spray = outcome.guess.spray  # a client's first guess says which kind of client it is
        stats.statuses[outcome.status] += 1
        if outcome.status == 200:
            stats.evaluated += 1
        elif outcome.status == 429:
            stats.throttled += 1
            if stats.first_block_at is None:
                stats.first_block_at = outcome.at
                stats.evaluated_before_block = stats.evaluated
    pins = list(LetterPin.objects.filter(pk__in=pin_ids))
    attempts = [pin.failed_attempts for pin in pins]
    locked = sum(pin.status == PinStatus.LOCKED for pin in pins)
    evaluated = statuses[200]
    global_blocks = log_text.count("login throttle global reached")
    ip_blocks = log_text.count("login throttle ip reached")
    below_limit = [
        s.first_block_at
        for s in per_client.values()
        if s.first_block_at is not None and s.evaluated_before_block < ip_limit
    ]
    first_global = min(below_limit, default=None)

    print(f"\n== {mode}  (TRUSTED_PROXY_COUNT={1 if mode == 'xff-trusted' else 0})")
    print(f"guesses sent:            {len(outcomes)} in {wall:.1f} s ({len(outcomes) / wall:.1f}/s)")
    print(
        f"answers:                 {statuses[200]} evaluated (login page), {statuses[429]} throttled (429), "
        f"{statuses[302]} signed in, {sum(n for s, n in statuses.items() if s >= 500 or s == 0)} errors"
    )
    print(
        f"wrong entries per PIN:   {attempts} (max {max(attempts)}); PINs locked: {locked}/{len(pins)}; "
        f"evaluated guesses spread over {len(per_client)} client addresses"
    )
    steady = [s for s in per_client.values() if not s.spray]
    blocked = [s for s in steady if s.first_block_at is not None]
    print(
        f"address throttle:        {len(blocked)}/{len(steady)} persistent clients blocked, after "
        f"{span([s.evaluated_before_block for s in blocked])} evaluated guesses each, at t = "
        f"{span([s.first_block_at for s in blocked], '{:.1f}')} s; throttled answers per client "
        f"{span([s.throttled for s in steady])}; server log: {ip_blocks} address blocks"
    )
    sprayed = [s for s in per_client.values() if s.spray]
    if sprayed:
        print(
            f"spray clients:           {len(sprayed)}: {sum(s.evaluated for s in sprayed)} evaluated, "
            f"{sum(s.throttled for s in sprayed)} throttled"
        )
    print(
        f"global throttle:         {'engaged' if global_blocks else 'not engaged'} (limit {global_limit}; "
        f"{evaluated} guesses evaluated in all"
        + (f"; first client blocked below its own limit at t = {first_global:.1f} s" if first_global else "")
        + f"; server log: {global_blocks} global blocks)"
    )

    slack = workers - 1  # requests already past the throttle check when the limit is reached
    checks = [
        (max(attempts) <= 5, f"no PIN evaluated more than 5 times (max {max(attempts)})"),
        (locked == len(pins), f"every attacked PIN locked ({locked}/{len(pins)})"),
        (statuses[302] == 0, "no guess signed in"),
        (not any(s >= 500 or s == 0 for s in statuses), "no 5xx and no dropped connection"),
        (
            not any(pin in log_text for pin in ISSUED_PLAINTEXTS),
            "no issued PIN in the server log",
        ),
    ]
    most = max(s.evaluated for s in per_client.values())
    if mode in ("plain", "xff-trusted"):
        checks += [
            (
                all(s.throttled for s in steady) and most <= ip_limit + slack,
                f"each client address throttled after at most {ip_limit} evaluated guesses (max {most})",
            ),
        ]
        # The plan reaches the global limit only when the clients together may make more guesses than it allows.
        if args.addresses * min(args.guesses, ip_limit) + args.spray > global_limit:
            checks.append(
                (
                    evaluated <= global_limit + slack and bool(global_blocks),
                    f"global throttle engaged at {global_limit} evaluated guesses in all ({evaluated})",
                )
            )
        else:
            checks.append((not global_blocks, f"global throttle not reached by {evaluated} guesses, as planned"))
    else:
        bound = args.sources * (ip_limit + slack)
        checks += [
            (
                len(per_client) == args.sources and evaluated <= bound,
                f"forged X-Forwarded-For counted against the {args.sources} real sources: {evaluated} evaluated "
                f"(≤ {args.sources} x {ip_limit})",
            ),
        ]
    for ok, text in checks:
        print(("PASS " if ok else "FAIL ") + text)
    return all(ok for ok, _text in checks)


def main() -> None:
    args = parse_args()
    url, drop = temp_database()
    workers = 2 if os.environ.get("CACHE_URL", "").startswith("redis") else 1
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    logs = Path(tempfile.mkdtemp(prefix="portal-bruteforce-logs-"))
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        from django.conf import settings
        from django.core.cache import cache

        print(
            f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} (throw-away); cache: "
            f"{settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; gunicorn workers: {workers}; "
            f"limits: {settings.LOGIN_THROTTLE_IP_LIMIT} per address / {settings.LOGIN_THROTTLE_IP_WINDOW_SECONDS} s, "
            f"{settings.LOGIN_THROTTLE_GLOBAL_LIMIT} in all / {settings.LOGIN_THROTTLE_GLOBAL_WINDOW_SECONDS} s, "
            f"{settings.PIN_MAX_FAILED_ATTEMPTS} wrong entries per PIN"
        )
        print(
            f"plan per mode: {args.addresses} clients x {args.guesses} guesses + {args.spray} one-guess clients "
            f"= {args.addresses * args.guesses + args.spray} guesses at {args.rate:.0f}/s on {args.members} PINs"
        )
        passed = True
        for number, mode in enumerate(m.strip() for m in args.modes.split(",")):
            if mode not in MODES:
                sys.exit(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
            cache.clear()
            targets = prepare_pins(args.members, offset=number * 100)
            mode_env = {**env, "TRUSTED_PROXY_COUNT": "1" if mode == "xff-trusted" else "0"}
            log = logs / f"{mode}.log"
            port = free_port()
            server = start_gunicorn(port, mode_env, workers, log)
            try:
                outcomes, wall = attack(port, plan(mode, targets, args), rate=args.rate, threads=args.threads)
            finally:
                server.terminate()
                server.wait(timeout=30)
            log_text = log.read_text(errors="replace")
            passed &= report(mode, outcomes, wall, [pk for _k, _s, pk in targets], args, log_text, workers)
        print("\nPASS all modes" if passed else "\nFAIL (see above)")
        if not passed:
            sys.exit(1)
    finally:
        from django.db import connections

        connections.close_all()
        drop()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
