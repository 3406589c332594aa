"""A private clamd for the tests: our signature database (tests/clamav/db), a unix socket in a temp folder."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
# Built at run time so that no file of the repository carries the test string a virus scanner would flag.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MARKER = b"PORTAL-TEST-MALWARE-" + b"MARKER-7F3A"


@dataclass
class Daemon:
    folder: Path
    process: subprocess.Popen

    @property
    def socket(self) -> str:
        return str(self.folder / "clamd.sock")

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel but never answered (a hung scanner)."""
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _pong(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1)
            conn.connect(path)
            conn.sendall(b"zPING\0")
            return conn.recv(16).startswith(b"PONG")
    except OSError:
        return False


def available() -> bool:
    return os.access(CLAMD, os.X_OK)


def start(*, extra: str = "") -> Daemon:
    """Start clamd in the foreground and wait until it answers PING (at most 30 s); `extra` lines are added to
    its configuration (bench/scan.py turns its cache of clean verdicts off)."""
    folder = Path(tempfile.mkdtemp(prefix="clamd-"))
    conf = (HERE / "clamd.conf").read_text().replace("@DIR@", str(folder)).replace("@DB@", str(HERE / "db")) + extra
    (folder / "clamd.conf").write_text(conf)
    process = subprocess.Popen(
        [CLAMD, "-c", str(folder / "clamd.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    daemon = Daemon(folder=folder, process=process)
    deadline = time.monotonic() + 30
    while not _pong(daemon.socket):
        if process.poll() is not None or time.monotonic() > deadline:
            daemon.stop()
            log = (folder / "clamd.log").read_text() if (folder / "clamd.log").exists() else ""
            raise RuntimeError(f"clamd did not start: {log[-2000:]}")
        time.sleep(0.05)
    return daemon


def stop(daemon: Daemon) -> None:
    daemon.stop()
    shutil.rmtree(daemon.folder, ignore_errors=True)
