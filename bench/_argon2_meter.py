"""For the HTTP benches: the CPU seconds a server process spends inside Argon2's verify, apart from the rest.

With BENCH_ARGON2_CPU_DIR set, bench/urls.py wraps argon2's PasswordHasher.verify in each gunicorn worker; after
every verification the worker writes its running totals ("<verifications> <cpu seconds>") to <dir>/<pid>. The
bench reads the files before and after its run: the server's CPU outside Argon2 is its whole CPU less this.
The write costs the worker a few microseconds per login, counted against the portal.
"""

import os
import time
from pathlib import Path

ENV = "BENCH_ARGON2_CPU_DIR"


def install() -> None:
    directory = os.environ.get(ENV, "")
    if not directory:
        return
    from argon2 import PasswordHasher

    original = PasswordHasher.verify
    totals = {"n": 0, "cpu": 0.0}

    def verify(self, hash_, password):
        start = time.process_time()
        try:
            return original(self, hash_, password)
        finally:
            totals["cpu"] += time.process_time() - start
            totals["n"] += 1
            partial = Path(directory, f".{os.getpid()}")
            partial.write_text(f"{totals['n']} {totals['cpu']!r}")
            partial.replace(Path(directory, str(os.getpid())))  # whole, for read()

    PasswordHasher.verify = verify


def read(directory: str) -> tuple[int, float]:
    """(verifications, CPU seconds inside them) summed over the server's processes so far."""
    count, cpu = 0, 0.0
    for path in Path(directory).glob("[0-9]*"):
        n, seconds = path.read_text().split()
        count, cpu = count + int(n), cpu + float(seconds)
    return count, cpu
