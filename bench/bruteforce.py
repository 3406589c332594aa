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
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _http
from pins.format import pin_generate

BENCH_KVNR_BASE = 71_000_000
MODES = ("plain", "xff-trusted", "xff-forged", "attack-mode")
CHALLENGED = 299  # stands for "the login page asked for a proof of work; the PIN was not evaluated"


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
    parser.add_argument("--attack-sources", type=int, default=40, help="attack-mode: guessing sources (default 40)")
    parser.add_argument("--attack-members", type=int, default=20, help="attack-mode: members logging in (default 20)")
    parser.add_argument("--attack-seconds", type=float, default=30, help="attack-mode: seconds per phase")
    parser.add_argument("--attack-budget", type=int, default=50, help="attack-mode: global budget of the run")
    return parser.parse_args()


# --- the throw-away database --------------------------------------------------------------------------------


def temp_database() -> tuple[str, Callable[[], None]]:
    """A new, empty database URL and a function that drops it."""
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith(("postgres://", "postgresql://")):
        url, name = _http.create_database(base, "portal_bruteforce")
        return url, lambda: _http.drop_database(base, name)
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
            guesses.append(Guess(address, _http.HOST, address, kvnr, selector, is_spray))
        else:  # xff-forged: the same few real sources, a different forged address on every request
            source = loopback_address(n % args.sources)
            guesses.append(Guess(source, source, forged_address(n % 60_000), kvnr, selector, is_spray))
    return guesses


def attack(port: int, guesses: list[Guess], *, rate: float, threads: int) -> tuple[list[Outcome], float]:
    csrf = _http.csrf_token(port)
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
            fields = {"kvnr": guess.kvnr, "pin": pin_generate(selector=guess.selector)}
            try:
                status, _headers, body = _http.login_post(
                    port, csrf, fields, source=guess.source, forwarded=guess.forwarded
                )
                if status == 200 and b'name="wartemarke"' in body:
                    status = CHALLENGED  # attack mode: the PIN was not evaluated
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
    global_blocks = log_text.count("login.attack_mode.started")
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
        f"{statuses[CHALLENGED]} asked for a proof of work, "
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
        f"attack mode:             {'started' if global_blocks else 'not started'} (budget {global_limit}; "
        f"{evaluated} guesses evaluated in all"
        + (f"; first client blocked below its own limit at t = {first_global:.1f} s" if first_global else "")
        + f"; server log: {global_blocks} starts)"
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
                    f"attack mode started at {global_limit} evaluated guesses in all ({evaluated}); no 429 for it",
                )
            )
        else:
            checks.append((not global_blocks, f"attack mode not reached by {evaluated} guesses, as planned"))
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


# --- attack mode: guessing at full speed while members log in ------------------------------------------------


def _ticket(body: bytes) -> str:
    match = re.search(rb'name="wartemarke" value="([^"]+)"', body)
    return match.group(1).decode() if match else ""


def _solve(port: int, source: str) -> str:
    """What the browser does on "Anmelden": ask whether a challenge is needed, solve it (altcha v2)."""
    import base64
    import json

    import altcha

    _status, _headers, body = _http.request(port, "GET", "/anmelden/pruefung/", source=source)
    answer = json.loads(body)
    if not answer.get("required"):
        return ""
    solution = altcha.solve_challenge(altcha.Challenge.from_dict(answer["challenge"]))
    payload = {"challenge": answer["challenge"], "solution": solution.to_dict()}
    return base64.b64encode(json.dumps(payload).encode()).decode()


def guessing_phase(port: int, targets, *, sources: int, seconds: float, members: list[tuple[str, str]] | None):
    """`sources` attackers from 127.0.1.x guess as fast as the server answers (no pacing); those asked for a
    proof of work take the cheapest way through (the wait ticket). Meanwhile, when `members` are given, each
    logs in once with the right PIN through a client that solves challenges like the browser."""
    csrf = _http.csrf_token(port)
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    state = {"evaluated": 0, "challenged": 0, "throttled": 0, "errors": 0, "signed_in": 0}
    state.update(first_challenge=None, evaluated_after=0)
    member_results: list[tuple[bool, float]] = []

    def attacker(n: int) -> None:
        source = f"127.0.1.{n + 1}"
        ticket = ""
        k = 0
        while time.monotonic() < stop:
            kvnr, selector, _pk = targets[(n + k) % len(targets)]
            k += 1
            fields = {"kvnr": kvnr, "pin": pin_generate(selector=selector)}
            fields.update({"wartemarke": ticket} if ticket else {})
            try:
                status, _headers, body = _http.login_post(port, csrf, fields, source=source)
            except OSError:
                status, body = 0, b""
            ticket = _ticket(body) if status == 200 else ""
            with lock:
                if status == 200 and ticket:
                    state["challenged"] += 1
                    state["first_challenge"] = state["first_challenge"] or time.monotonic()
                elif status == 200:
                    state["evaluated"] += 1
                    state["evaluated_after"] += state["first_challenge"] is not None
                elif status == 429:
                    state["throttled"] += 1
                elif status == 302:
                    state["signed_in"] += 1
                else:
                    state["errors"] += 1
            if ticket:
                match = re.search(rb"warten Sie (\d+) Sekunde", body)
                time.sleep(min(float(match.group(1)) if match else 1.0, max(0.0, stop - time.monotonic())))

    def member(n: int, kvnr: str, pin: str) -> None:
        time.sleep(n * seconds / max(1, len(members or [])) / 2)  # spread over the first half of the phase
        source = f"127.0.2.{n + 1}"
        started = time.monotonic()
        ok = False
        try:
            for _try in range(3):
                payload = _solve(port, source)
                fields = {"kvnr": kvnr, "pin": pin, "altcha": payload}
                status, headers, _body = _http.login_post(port, csrf, fields, source=source)
                if status == 302 and headers.get("Location") == "/uebersicht/":
                    ok = True
                    break
        except OSError:
            ok = False
        with lock:
            member_results.append((ok, time.monotonic() - started))

    threads = [threading.Thread(target=attacker, args=(n,)) for n in range(sources)]
    threads += [threading.Thread(target=member, args=(n, k, p)) for n, (k, p) in enumerate(members or [])]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended = time.monotonic()
    state["seconds_after"] = ended - state["first_challenge"] if state["first_challenge"] else 0.0
    return state, member_results, ended - started


def attack_mode_scenario(args, env: dict, logs: Path) -> bool:
    """Guesses/s evaluated without attack mode, then with it while 20 members log in; PASS/FAIL lines."""
    import statistics

    from django.core.cache import cache

    from bench._members import bench_member_with_pin
    from pins.models import LetterPin

    seconds = args.attack_seconds
    results = {}
    members = []
    for n in range(args.attack_members):
        issued = bench_member_with_pin(number=BENCH_KVNR_BASE + 900 + n, last_name=f"Mitglied {n}", purpose="bench")
        ISSUED_PLAINTEXTS.append(issued.plaintext)
        members.append((issued.pin.member.kvnr, issued.plaintext, issued.pin.pk))
    for phase, budget in (("without attack mode", "1000000000"), ("attack mode", str(args.attack_budget))):
        cache.clear()
        targets = prepare_pins(args.members, offset=500 + len(results) * 100)
        phase_env = {
            **env,
            "TRUSTED_PROXY_COUNT": "0",
            "LOGIN_THROTTLE_IP_LIMIT": "1000000",  # a botnet has addresses to spare: measure the global defence
            "LOGIN_THROTTLE_GLOBAL_LIMIT": budget,
            "PIN_MAX_FAILED_ATTEMPTS": "1000000",  # keep the guessed PINs guessable all along
        }
        log = logs / f"attack-{len(results)}.log"
        port = _http.free_port()
        server = _http.start_gunicorn(port, phase_env, workers=2, log=log, log_level=None)
        try:
            with_members = [(k, p) for k, p, _pk in members] if phase == "attack mode" else None
            state, member_results, wall = guessing_phase(
                port, targets, sources=args.attack_sources, seconds=seconds, members=with_members
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        results[phase] = (state, member_results, wall, log.read_text(errors="replace"))

    base_state, _m, base_wall, _log = results["without attack mode"]
    state, member_results, wall, log_text = results["attack mode"]
    base_rate = base_state["evaluated"] / base_wall
    # Under attack mode: the guesses evaluated once the first proof of work was asked for, per second since then.
    rate = state["evaluated_after"] / state["seconds_after"] if state["seconds_after"] else state["evaluated"] / wall
    reached = sum(ok for ok, _t in member_results)
    times = sorted(t for ok, t in member_results if ok)
    p95 = _http.percentile(times, 0.95) if times else float("inf")
    locked = LetterPin.objects.filter(pk__in=[pk for _k, _p, pk in members], status="locked").count()
    print(f"\n== attack-mode  ({args.attack_sources} sources 127.0.1.x at full speed, {seconds:.0f} s per phase)")
    for phase, (st, _mr, w, _l) in results.items():
        print(
            f"{phase:<22} evaluated {st['evaluated']:>5} ({st['evaluated'] / w:6.1f}/s), asked for proof of work "
            f"{st['challenged']:>5}, 429 {st['throttled']}, signed in {st['signed_in']}, errors {st['errors']}"
        )
    print(
        f"attack mode on for {state['seconds_after']:.1f} s: {state['evaluated_after']} guesses evaluated "
        f"({rate:.2f}/s)"
    )
    print(
        f"members: {reached}/{len(member_results)} reached the dashboard; login time p50 "
        f"{statistics.median(times) if times else float('nan'):.2f} s, p95 {p95:.2f} s; PINs locked: {locked}"
    )
    ratio = base_rate / rate if rate else float("inf")
    checks = [
        (reached >= 0.99 * len(member_results), f">= 99 % of members reached the dashboard ({reached}/{len(members)})"),
        (p95 <= 5, f"members' p95 login time under attack <= 5 s ({p95:.2f} s)"),
        (
            ratio >= 10,
            f"attacker's evaluated guesses/s at least 10x lower ({base_rate:.1f}/s -> {rate:.2f}/s, {ratio:.1f}x)",
        ),
        (locked == 0, "no member locked by the defence"),
        ("login.attack_mode.started" in log_text, "attack mode started (log line)"),
        (state["throttled"] == 0, "nobody refused with 429 for the attack's sake"),
        (not any(pin in log_text for pin in ISSUED_PLAINTEXTS), "no issued PIN in the server log"),
    ]
    for ok, text in checks:
        print(("PASS " if ok else "FAIL ") + text)
    return all(ok for ok, _t in checks)


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
    logs = Path(tempfile.mkdtemp(prefix="portal-bruteforce-logs-"))
    try:
        _http.django_setup(env)
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
            if mode == "attack-mode":
                passed &= attack_mode_scenario(args, env, logs)
                continue
            cache.clear()
            targets = prepare_pins(args.members, offset=number * 100)
            mode_env = {**env, "TRUSTED_PROXY_COUNT": "1" if mode == "xff-trusted" else "0"}
            log = logs / f"{mode}.log"
            port = _http.free_port()
            server = _http.start_gunicorn(port, mode_env, workers=workers, log=log, log_level=None)
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
