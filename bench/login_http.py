"""Benchmark, run by hand: member logins per second over HTTP against raw Argon2, dashboard p99 against a bare view.

Starts gunicorn (2 sync workers) on 127.0.0.1 with the portal on a throw-away PostgreSQL database (created on
DATABASE_URL's server, migrated, dropped afterwards) with production's CONN_MAX_AGE (60 s unless CONN_MAX_AGE is
set), creates bench members with fresh PINs, then measures in one run:

- raw Argon2 verifications per second with the PIN engine's parameters (1 and 2 processes, 2 = the workers),
  and the CPU seconds one verification costs;
- logins per second through the real login view (POST /anmelden/, CSRF and all) from a few client threads, and
  the server's CPU seconds per login: gunicorn's master and workers, the PostgreSQL backends serving the bench
  database and the Redis server of CACHE_URL, each read from /proc (Redis: INFO cpu) before and after the run,
  apart from this process (the load generator), whose own CPU is printed beside;
- p50/p99 latency of the dashboard page against a bare template view (anonymous and with a member session),
  from --connections concurrent clients (default 16), each interleaving the three pages.

Two ratios of the login to raw Argon2: the wall-clock one (logins/s against verifications/s on 2 processes),
which on two cores also charges the load generator's CPU to the portal, and the CPU one (Argon2's CPU seconds
per verification against the server's CPU seconds per login), printed for gunicorn alone and for all the
server's processes, with the load average before and after the run. Other work on the machine can share
PostgreSQL's background writers and the Redis server; those are not counted (backends and Redis are, whole).

Before it prints a rate it checks that every timed login reached the dashboard: each answered with the redirect
to /uebersicht/ and its session then opens the dashboard (HTTP 200), with no failed login in the run, and that
the CPU it divides was measured (gunicorn's workers and, on PostgreSQL, the backends that served the run).

Usage: DATABASE_URL=postgres://... CACHE_URL=redis://... [CONN_MAX_AGE=60] .venv/bin/python bench/login_http.py
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _argon2_meter, _http

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
    start, cpu_start = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        hasher.verify(pin_hash, pin)
        done += 1
    assert done > 0, "no Argon2 verification in the run"
    queue.put((done / (time.perf_counter() - start), (time.process_time() - cpu_start) / done))


def argon2_rate(processes: int, seconds: float) -> tuple[float, float]:
    """Raw Argon2id verifications per second with the PIN engine's parameters, summed over processes, and the
    CPU seconds of one verification (the mean over processes)."""
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
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    return sum(rate for rate, _cpu in results), statistics.mean(cpu for _rate, cpu in results)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, all its threads; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class ServerCpu:
    """The server's CPU seconds, read before and after a run: gunicorn (master and workers), the PostgreSQL
    backends connected to the bench database other than this process's own, and the Redis server of the cache."""

    def __init__(self, gunicorn_pid: int):
        self.gunicorn_pid = gunicorn_pid
        self.redis = _redis_client()
        self.start: dict[str, dict[int, float]] = {}

    def _read(self) -> dict[str, dict[int, float]]:
        from django.db import connection

        gunicorn = [self.gunicorn_pid, *children(self.gunicorn_pid)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            backends = [row[0] for row in cursor.fetchall()]
        redis = {0: _redis_cpu(self.redis)} if self.redis else {}
        return {
            "gunicorn": {pid: process_cpu(pid) for pid in gunicorn},
            "postgresql": {pid: process_cpu(pid) for pid in backends},
            "redis": redis,
        }

    def begin(self) -> None:
        self.start = self._read()

    def end(self) -> dict[str, tuple[float, int]]:
        """{part: (CPU seconds during the run, processes)}; a process that started during the run counts whole."""
        now = self._read()
        return {
            part: (sum(cpu - self.start[part].get(pid, 0.0) for pid, cpu in values.items()), len(values))
            for part, values in now.items()
        }


def _redis_client():
    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION", "")
    if "RedisCache" not in settings.CACHES["default"]["BACKEND"] or not location:
        return None
    import redis

    return redis.Redis.from_url(location if isinstance(location, str) else location[0])


def _redis_cpu(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


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


def assert_server_cpu_measured(spent: dict[str, tuple[float, int]]) -> None:
    """The ratio divides by the server's CPU: its workers (and, on PostgreSQL, its backends) must have been read."""
    cpu, processes = spent["gunicorn"]
    assert processes >= 2 and cpu > 0, f"gunicorn's CPU was not measured ({processes} processes, {cpu:.3f} s)"
    cpu, processes = spent["postgresql"]
    assert processes >= 1, "no PostgreSQL backend served the run"


def print_cpu(logins: int, spent: dict, inside: float, argon2_cpu: float, client_cpu: float, before, after) -> None:
    """The CPU ratios: Argon2's CPU per verification against the server's per login, and (robust on a loaded
    machine, where Argon2's own CPU time varies with the others' cache use) against Argon2's plus what the
    server spent per login outside its Argon2 verification."""
    per_login = {part: cpu / logins for part, (cpu, _n) in spent.items()}
    total = sum(per_login.values())
    outside = total - inside / logins
    print(f"load average before the login run: {_load(before)}; after: {_load(after)}")
    print(f"raw Argon2 CPU per verification: {argon2_cpu * 1000:7.2f} ms")
    counted = ", ".join(f"{part} {cpu * 1000:.2f} ms ({spent[part][1]} processes)" for part, cpu in per_login.items())
    print(f"server CPU per login: {total * 1000:7.2f} ms = {counted}")
    print(
        f"  of which inside the login's Argon2 verification: {inside / logins * 1000:.2f} ms; outside: {outside * 1000:.2f} ms"
    )
    print(f"load generator CPU per login (this process, not counted): {client_cpu / logins * 1000:.2f} ms")
    print(f"ratio raw Argon2 CPU : server CPU per login (gunicorn only)  = {argon2_cpu / per_login['gunicorn']:.2f}")
    print(f"ratio raw Argon2 CPU : server CPU per login (all, goal 0.85) = {argon2_cpu / total:.2f}")
    print(
        f"ratio raw Argon2 CPU : (raw Argon2 CPU + server CPU per login outside Argon2) = {argon2_cpu / (argon2_cpu + outside):.2f}"
    )


def _load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


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

    raw_one, _cpu_one = argon2_rate(1, args.argon2_seconds)
    raw_two, argon2_cpu = argon2_rate(2, args.argon2_seconds)

    port = _http.free_port()
    meter = tempfile.TemporaryDirectory(prefix="bench-argon2-")
    env = {**env, _argon2_meter.ENV: meter.name}
    server = _http.start_gunicorn(port, env)
    try:
        # Untimed logins first, so that both workers have booted, connected and warmed their caches.
        warm = login_run(port, pairs, logins=args.threads * 2, seconds=args.seconds, threads=args.threads)
        assert warm["errors"] == 0, f"{warm['errors']} warm-up logins failed"
        server_cpu = ServerCpu(server.pid)
        load_before = os.getloadavg()
        server_cpu.begin()
        argon2_before = _argon2_meter.read(meter.name)
        client_start = time.process_time()
        run = login_run(port, pairs, logins=args.logins, seconds=args.seconds, threads=args.threads)
        client_cpu = time.process_time() - client_start
        spent = server_cpu.end()
        argon2_after = _argon2_meter.read(meter.name)
        inside = (argon2_after[0] - argon2_before[0], argon2_after[1] - argon2_before[1])
        load_after = os.getloadavg()
        assert_logins_reached_the_dashboard(port, run)
        assert_server_cpu_measured(spent)
        assert inside[0] == run["count"], f"{inside[0]} Argon2 verifications in the server for {run['count']} logins"
        timings = latency_run(port, pairs, args.requests, args.connections)
    finally:
        server.terminate()
        server.wait(timeout=30)
        meter.cleanup()

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
    print(f"ratio logins/s : raw Argon2/s (2 processes) = {rate / raw_two:.2f}  (wall clock, load generator included)")
    print_cpu(run["count"], spent, inside[1], argon2_cpu, client_cpu, load_before, load_after)
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
