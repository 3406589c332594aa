"""Benchmark, run by hand: member logins per second over HTTP against raw Argon2, dashboard p99 against a bare view.

Starts gunicorn (2 sync workers) on 127.0.0.1 with the portal on a throw-away PostgreSQL database (created on
DATABASE_URL's server, migrated, dropped afterwards) with production's CONN_MAX_AGE (60 s unless CONN_MAX_AGE is
set), creates bench members with fresh PINs, then measures in one run:

- raw Argon2 verifications per second with the PIN engine's parameters (1 and 2 processes, 2 = the workers);
- logins per second through the real login view (POST /anmelden/, CSRF and all) from a few client threads;
- p50/p99 latency of the dashboard page against a bare template view (anonymous and with a member session),
  from --connections concurrent clients (default 16), each interleaving the three pages.

Before it prints a rate it checks that every timed login reached the dashboard: each answered with the redirect
to /uebersicht/ and its session then opens the dashboard (HTTP 200), with no failed login in the run.

Usage: DATABASE_URL=postgres://... CACHE_URL=redis://... [CONN_MAX_AGE=60] .venv/bin/python bench/login_http.py
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _http

SETTINGS = "bench.settings"
BENCH_KVNR_BASE = 70_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--logins", type=int, default=200, help="logins to measure (default 200)")
    parser.add_argument("--seconds", type=float, default=60, help="stop the login run after this long")
    parser.add_argument("--threads", type=int, default=4, help="client threads for the login run")
    parser.add_argument("--members", type=int, default=20, help="bench members with a PIN each")
    parser.add_argument("--requests", type=int, default=300, help="requests per page for the latency run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients for the latency run")
    parser.add_argument("--argon2-seconds", type=float, default=5, help="duration of the raw Argon2 run")
    return parser.parse_args()


def prepare_members(count: int) -> list[tuple[str, str]]:
    """Bench members (upserted, so reruns reuse them) with one fresh PIN each: (KVNR, PIN) pairs."""
    from bench._members import bench_member_with_pin

    pairs = []
    for n in range(count):
        issued = bench_member_with_pin(
            number=BENCH_KVNR_BASE + n, last_name=f"Mitglied {n}", purpose="bench/login_http.py"
        )
        pairs.append((issued.pin.member.kvnr, issued.plaintext))
    return pairs


def _argon2_worker(params: tuple[int, int, int], pin_hash: str, pin: str, seconds: float, queue) -> None:
    from argon2 import PasswordHasher, Type

    time_cost, memory_cost, parallelism = params
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        hasher.verify(pin_hash, pin)
        done += 1
    queue.put(done / (time.perf_counter() - start))


def argon2_rate(processes: int, seconds: float) -> float:
    """Raw Argon2id verifications per second with the PIN engine's parameters, summed over processes."""
    from django.conf import settings

    from pins import hashing

    params = (settings.PIN_ARGON2["time_cost"], settings.PIN_ARGON2["memory_cost"], settings.PIN_ARGON2["parallelism"])
    pin = "ABCDEFGHJKLM"
    pin_hash = hashing.pin_hash_create(pin)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_argon2_worker, args=(params, pin_hash, pin, seconds, queue)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    rates = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sum(rates)


def post_login(port: int, csrf: str, kvnr: str, pin: str) -> tuple[float, dict[str, str]]:
    """One login through the real view; returns its duration and the cookies it set."""
    start = time.perf_counter()
    status, headers, _body = _http.login_post(port, csrf, {"kvnr": kvnr, "pin": pin})
    elapsed = time.perf_counter() - start
    if status != 302 or headers.get("Location") != "/uebersicht/":
        raise RuntimeError(f"login failed with HTTP {status}")
    return elapsed, _http.cookies_from(headers)


def login_run(port: int, pairs: list[tuple[str, str]], *, logins: int, seconds: float, threads: int) -> dict:
    lock = threading.Lock()
    state = {"next": 0, "durations": [], "errors": 0, "sessions": []}
    deadline = time.monotonic() + seconds

    def client() -> None:
        csrf = _http.csrf_token(port)
        while True:
            with lock:
                if state["next"] >= logins or time.monotonic() > deadline:
                    return
                kvnr, pin = pairs[state["next"] % len(pairs)]
                state["next"] += 1
            try:
                elapsed, cookies = post_login(port, csrf, kvnr, pin)
            except (OSError, RuntimeError):
                with lock:
                    state["errors"] += 1
                continue
            csrf = cookies.get("csrftoken", csrf)  # Django rotates the CSRF token on login
            with lock:
                state["durations"].append(elapsed)
                state["sessions"].append(cookies.get("sessionid", ""))

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    return {
        "count": len(state["durations"]),
        "errors": state["errors"],
        "wall": wall,
        "durations": state["durations"],
        "sessions": state["sessions"],
    }


def assert_logins_reached_the_dashboard(port: int, run: dict) -> None:
    """No login of the timed run failed, and the session each one got opens the member's dashboard."""
    assert run["errors"] == 0, f"{run['errors']} logins failed"
    assert run["count"] > 0, "no login in the run"
    for session in run["sessions"]:
        assert session, "a login set no session cookie"
        status, headers, _body = _http.request(port, "GET", "/uebersicht/", headers={"Cookie": f"sessionid={session}"})
        assert status == 200, f"the dashboard answered a logged-in session with HTTP {status} {headers.get('Location')}"


def latency_run(port: int, pairs: list[tuple[str, str]], requests: int, connections: int) -> dict[str, list[float]]:
    """GETs of the dashboard and the bare view from concurrent clients, each interleaving the pages, so that all
    pages see the same load; each client has its own member session. `requests` per page in all."""
    sessions = []
    for n in range(connections):
        _elapsed, cookies = post_login(port, _http.csrf_token(port), *pairs[n % len(pairs)])
        sessions.append({"Cookie": f"sessionid={cookies['sessionid']}"})
    names = ["dashboard (member session)", "bare view (anonymous)", "bare view (member session)"]
    timings: dict[str, list[float]] = {name: [] for name in names}
    lock = threading.Lock()
    errors = []

    def client(member_cookie: dict, count: int) -> None:
        pages = {
            names[0]: ("/uebersicht/", member_cookie),
            names[1]: ("/bench/bare/", {}),
            names[2]: ("/bench/bare/", member_cookie),
        }
        for _ in range(count):
            for name, (path, headers) in pages.items():
                start = time.perf_counter()
                status, _headers, _body = _http.request(port, "GET", path, headers=headers)
                elapsed = time.perf_counter() - start
                with lock:
                    timings[name].append(elapsed)
                    if status != 200:
                        errors.append(f"{path} answered HTTP {status}")

    per_client = max(1, requests // connections)
    threads = [threading.Thread(target=client, args=(cookie, per_client)) for cookie in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return timings


def main() -> None:
    args = parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (it is created and migrated when missing).")
    bench_url, bench_name = _http.create_database(url, "bench_login")
    try:
        run_all(args, bench_url)
    finally:
        _http.drop_database(url, bench_name)


def run_all(args: argparse.Namespace, url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),  # production's default
        "LOGIN_THROTTLE_IP_LIMIT": "1000000",
    }
    _http.django_setup(env)
    from django.conf import settings
    from django.core.cache import cache

    cache.clear()  # no throttle state from earlier runs
    pairs = prepare_members(args.members)
    argon2 = settings.PIN_ARGON2
    print(f"Argon2id parameters: t={argon2['time_cost']}, m={argon2['memory_cost']} KiB, p={argon2['parallelism']}")
    print(
        f"Cache: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; database: {urlparse(url).path[1:]}, "
        f"CONN_MAX_AGE={settings.DATABASES['default']['CONN_MAX_AGE']} (0 = a new connection per request)"
    )

    raw_one = argon2_rate(1, args.argon2_seconds)
    raw_two = argon2_rate(2, args.argon2_seconds)

    port = _http.free_port()
    server = _http.start_gunicorn(port, env)
    try:
        run = login_run(port, pairs, logins=args.logins, seconds=args.seconds, threads=args.threads)
        assert_logins_reached_the_dashboard(port, run)
        timings = latency_run(port, pairs, args.requests, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=30)

    rate = run["count"] / run["wall"]
    print()
    print(f"raw Argon2 verifications/s, 1 process:   {raw_one:8.1f}")
    print(f"raw Argon2 verifications/s, 2 processes: {raw_two:8.1f}")
    print(
        f"logins/s over HTTP (gunicorn 2 workers, {args.threads} client threads): {rate:8.1f}  "
        f"({run['count']} logins in {run['wall']:.1f} s, {run['errors']} errors)"
    )
    print(
        f"login latency: p50 {statistics.median(run['durations']) * 1000:.0f} ms, "
        f"p99 {_http.percentile(run['durations'], 0.99) * 1000:.0f} ms"
    )
    print(f"ratio logins/s : raw Argon2/s (2 processes) = {rate / raw_two:.2f}")
    print()
    for name, values in timings.items():
        print(
            f"{name:28s} p50 {statistics.median(values) * 1000:6.1f} ms   p99 {_http.percentile(values, 0.99) * 1000:6.1f} ms"
            f"   (n={len(values)})"
        )
    dashboard = _http.percentile(timings["dashboard (member session)"], 0.99)
    print(f"latency run: {args.connections} concurrent connections")
    print(
        f"ratio p99 dashboard : bare view (anonymous)      = {dashboard / _http.percentile(timings['bare view (anonymous)'], 0.99):.2f}"
    )
    print(
        f"ratio p99 dashboard : bare view (member session) = "
        f"{dashboard / _http.percentile(timings['bare view (member session)'], 0.99):.2f}"
    )
    print(f"checked: {run['count']} logins, each reached the dashboard; every latency request answered 200")


if __name__ == "__main__":
    main()
