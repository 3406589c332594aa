"""The disarm in a child process under operating-system limits, so a hostile file kills the child, never the worker.

The parent (`disarm_isolated`, and `assemble_isolated` for a document made of photos) hands the files as
descriptors to a fresh child; the child sets RLIMIT_AS (its
address space after the imports plus the memory budget) and RLIMIT_CPU, disarms, and prints one JSON line. A
child that hits a limit dies (MemoryError, SIGXCPU, SIGKILL) or is killed at the wall-clock deadline: the file is
refused as too complex. The child's peak RSS is its VmHWM (/proc), which starts afresh at exec (wait4's
ru_maxrss would count the parent's pages the child had for a moment between fork and exec): the child reports it
when it ends, and the parent samples it while it waits, for a child that is killed.

Starting an interpreter and importing pikepdf, Pillow and pi_heif costs about 130 ms of CPU, more than disarming
most files. So each worker process starts `python -m scanning.sandbox --serve` once (a fork server: exec'd like a
child, no secrets in its environment or memory, the disarm code imported) and it forks one child per file, which
starts with the imports done; the fork server reaps it and reports how it ended. Its VmHWM is the fork server's
resident size at the fork (the same as a fresh child's after its imports). If the fork server cannot be used, a
child is started from scratch as before.
"""

import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from .assemble import Page, PageRefused, pages_assemble
from .disarm import (
    ActiveContentLeft,
    DecodeBudget,
    DisarmFailed,
    ImageTooLarge,
    TooComplex,
    image_disarm,
    pdf_disarm,
    warm_up,
)

ROOT = Path(__file__).resolve().parent.parent
MiB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one disarm may take: address space above the child's own start (`memory`), CPU seconds, wall seconds,
    the image decode budget (bytes, from the header) and the PDF stream decode budget."""

    memory: int = 512 * MiB
    cpu_seconds: int = 60
    wall_seconds: float = 120
    image_budget: int = 200 * MiB
    pdf: dict = field(default_factory=lambda: {"total": 512 * MiB, "ratio": 100, "floor": 32 * MiB})


@dataclass(frozen=True)
class Outcome:
    """The child's answer: the MIME type written, or why the file is refused (image_too_large, too_complex,
    active_content, unreadable); its peak resident memory in bytes; how it ended (for the log); for an assembly,
    the page (1-based) that refused it, 0 when no one page is to blame."""

    mime: str = ""
    refused: str = ""
    peak_rss: int = 0
    detail: str = ""
    page: int = 0


def _status(field: str, pid: int | str = "self") -> int:
    """A /proc/<pid>/status memory field in bytes (0 once the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _address_space() -> int:
    return _status("VmSize")


def _limit(memory: int, cpu_seconds: int) -> None:
    ceiling = _address_space() + memory
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 2))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _refusal(error: DisarmFailed) -> dict:
    """Why the disarm refused, as the child's answer."""
    if isinstance(error, ImageTooLarge):
        return {"refused": "image_too_large", "detail": str(error)}
    if isinstance(error, TooComplex):
        return {"refused": "too_complex", "detail": str(error)}
    if isinstance(error, ActiveContentLeft):
        return {"refused": "active_content", "detail": str(error)}
    # A parser's message can quote the file's own bytes: only the class of what failed reaches the log.
    return {"refused": "unreadable", "detail": type(error.__cause__ or error).__name__}


def _disarm_child(files: list[int], args: dict, limits: Limits) -> dict:
    src = os.fdopen(files[0], "rb", closefd=False)
    out = os.fdopen(files[1], "r+b", closefd=False)
    strings = os.fdopen(files[2], "wb", closefd=False)
    if args["mime"] == "application/pdf":
        pdf_disarm(src, out, budget=DecodeBudget(**limits.pdf), strings=strings)
        mime = "application/pdf"
    else:
        mime = image_disarm(src, out, mime=args["mime"], budget=limits.image_budget)
    out.flush()
    strings.flush()
    return {"mime": mime}


def _assemble_child(files: list[int], args: dict, limits: Limits) -> dict:
    out = os.fdopen(files[0], "r+b", closefd=False)
    pages = [
        Page(src=os.fdopen(fd, "rb", closefd=False), rotation=rotation)
        for fd, rotation in zip(files[1:], args["rotations"], strict=True)
    ]
    try:
        pages_assemble(pages, out, budget=limits.image_budget)
    except PageRefused as error:
        return {**_refusal(error.cause), "page": error.number}
    out.flush()
    return {"mime": "application/pdf"}


def _child(args: dict, files: list[int]) -> dict:
    """The task in `args` ("disarm" or "assemble") on the descriptors `files`, under the limits in `args`."""
    limits = Limits(**{key: args[key] for key in ("memory", "cpu_seconds", "wall_seconds", "image_budget", "pdf")})
    _limit(limits.memory, limits.cpu_seconds)
    task = _assemble_child if args["task"] == "assemble" else _disarm_child
    try:
        return task(files, args, limits)
    except DisarmFailed as error:
        return _refusal(error)
    except MemoryError:
        return {"refused": "too_complex", "detail": "memory"}


def _answer(args: dict, files: list[int]) -> None:
    answer = _child(args, files)
    answer["peak_rss"] = _status("VmHWM")
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    os._exit(0)  # nothing left to tidy; skip interpreter teardown under the limits


def main() -> None:
    if sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]))
    else:
        args = json.loads(sys.argv[1])
        _answer(args, args.pop("files"))


# Descriptors of one request to the fork server: the child's stdout and stderr, then the task's files (a disarm:
# source, copy, strings; an assembly: the PDF, then each page).
MAX_FILES = 64


def _serve(fd: int) -> None:
    """The fork server: for each request (the limits as JSON, the descriptors), fork a child that disarms, answer
    with its pid, reap it and answer with its wait status. Ends when the worker closes its end."""
    conn = socket.socket(fileno=fd)
    warm_up()
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(conn, 65536, MAX_FILES + 2)
        except OSError:
            break
        if not data:
            break  # the worker is gone
        args = json.loads(data)
        if len(fds) != args["count"] + 2:
            for received in fds:
                os.close(received)
            break
        pid = os.fork()
        if pid == 0:
            try:
                conn.close()
                os.dup2(fds[0], 1)
                os.dup2(fds[1], 2)
                _answer(args, fds[2:])
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        for received in fds:
            os.close(received)
        conn.sendall(json.dumps({"pid": pid}).encode())
        _pid, status = os.waitpid(pid, 0)
        conn.sendall(json.dumps({"status": status}).encode())


class _ForkServer:
    """This worker process's fork server and its end of the socket pair."""

    def __init__(self, env: dict[str, str]):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "scanning.sandbox", "--serve", str(theirs.fileno())],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
            )
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.conn = mine
        self.owner = os.getpid()

    def start(self, args: dict, fds: list[int]) -> int:
        """Hand one request over; the child's pid (OSError or ValueError when the fork server is unusable)."""
        socket.send_fds(self.conn, [json.dumps(args).encode()], fds)
        return int(self._receive(None)["pid"])

    def status(self, timeout: float | None) -> int | None:
        """The wait status of the child once the fork server reaped it; None while it runs (after `timeout`)."""
        message = self._receive(timeout)
        return None if message is None else int(message["status"])

    def _receive(self, timeout: float | None) -> dict | None:
        if timeout is not None and not select.select([self.conn], [], [], timeout)[0]:
            return None
        data = self.conn.recv(4096)
        if not data:
            raise ConnectionError("the fork server ended")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()  # the fork server reads the end of the stream and exits
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_fork_server: _ForkServer | None = None
_fork_lock = threading.Lock()
# No secrets from our environment; few malloc arenas, or a threaded decoder reserves 64 MiB of address space per
# thread and meets RLIMIT_AS without using the memory.
_ENV_KEYS = {"LANG": "C.UTF-8", "MALLOC_ARENA_MAX": "2"}


def _child_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **_ENV_KEYS}


def _server() -> _ForkServer:
    """This process's fork server, started on first use (a process forked from ours, a Celery worker child,
    starts its own: the socket belongs to the one that made it)."""
    global _fork_server
    if _fork_server is None or _fork_server.owner != os.getpid() or _fork_server.process.poll() is not None:
        _fork_server = _ForkServer(_child_env())
    return _fork_server


def _drop_server() -> None:
    global _fork_server
    if _fork_server is not None and _fork_server.owner == os.getpid():
        _fork_server.close()
    _fork_server = None


def _wait(pid: int, deadline: float, ended=None) -> tuple[int, int, bool]:
    """Wait for the child (killing it at the deadline); its status, the highest VmHWM seen, whether it was killed.

    `ended(timeout)` gives its wait status once it ended (None before); without it the child is our own."""

    def own(timeout: float) -> int | None:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(timeout)
        return None

    ended = ended or own
    peak = 0
    killed = False
    while True:
        status = ended(0.01)
        if status is not None:
            return status, peak, killed
        peak = max(peak, _status("VmHWM", pid))
        if not killed and time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            killed = True


def disarm_isolated(*, src: IO[bytes], out: IO[bytes], strings: IO[bytes], mime: str, limits: Limits) -> Outcome:
    """Disarm `src` (a real file) into `out` in a limited child; `strings` receives the decoded strings of a PDF."""
    src.seek(0)
    outcome = _isolated(
        {"task": "disarm", "mime": mime}, files=[src.fileno(), out.fileno(), strings.fileno()], limits=limits
    )
    out.seek(0)
    strings.seek(0)
    return outcome


def assemble_isolated(*, pages: list[tuple[IO[bytes], int]], out: IO[bytes], limits: Limits) -> Outcome:
    """Assemble the pages (real files of checked images, each with the member's clockwise turn) into one PDF in
    `out`, in a child under the same limits as one disarm (scanning.assemble)."""
    if len(pages) + 1 > MAX_FILES:
        raise ValueError(f"at most {MAX_FILES - 1} pages")
    for src, _rotation in pages:
        src.seek(0)
    task = {"task": "assemble", "rotations": [rotation for _src, rotation in pages]}
    outcome = _isolated(task, files=[out.fileno(), *(src.fileno() for src, _rotation in pages)], limits=limits)
    out.seek(0)
    return outcome


def _isolated(task: dict, *, files: list[int], limits: Limits) -> Outcome:
    """Run the task in a limited child (forked by this process's fork server, else started afresh) on the
    descriptors `files`; its answer, or why it was stopped."""
    args = {**asdict(limits), **task, "count": len(files)}
    with tempfile.TemporaryFile() as answer, tempfile.TemporaryFile() as errors:
        deadline = time.monotonic() + limits.wall_seconds
        with _fork_lock:
            try:
                server = _server()
                pid = server.start(args, [answer.fileno(), errors.fileno(), *files])
            except (OSError, ValueError, KeyError):
                _drop_server()
                server = None
            if server is not None:
                status, peak, killed = _run_forked(server, pid, deadline)
        if server is None:
            status, peak, killed = _run_spawned(args, files, answer.fileno(), errors.fileno(), deadline)
        returncode = os.waitstatus_to_exitcode(status)
        answer.seek(0)
        line = answer.read(4096).decode("utf-8", "replace").strip()
        errors.seek(0)
        tail = errors.read(65536).decode("utf-8", "replace").strip().splitlines()[-1:]
    if killed:
        return Outcome(refused="too_complex", peak_rss=peak, detail="wall-clock limit")
    if returncode != 0 or not line:
        how = f"signal {-returncode}" if returncode < 0 else f"exit {returncode}"
        # Only the exception's class from the child's last line, never its message (it can quote the file).
        return Outcome(
            refused="too_complex", peak_rss=peak, detail=" ".join([how, *(t.split(":", 1)[0] for t in tail)])
        )
    result = json.loads(line)
    return Outcome(
        mime=result.get("mime", ""),
        refused=result.get("refused", ""),
        peak_rss=max(peak, int(result.get("peak_rss", 0))),
        detail=result.get("detail", ""),
        page=int(result.get("page", 0)),
    )


def _run_forked(server: _ForkServer, pid: int, deadline: float) -> tuple[int, int, bool]:
    try:
        return _wait(pid, deadline, server.status)
    except BaseException:
        # Interrupted (Celery's soft time limit, shutdown) or the fork server died: the child must not outlive the
        # check, and the fork server must not answer the next request with this child's status.
        try:
            os.kill(pid, signal.SIGKILL)
            server.status(5)
        except (OSError, ValueError, KeyError):
            pass
        finally:
            _drop_server()
        raise


def _run_spawned(args: dict, files: list[int], answer: int, errors: int, deadline: float) -> tuple[int, int, bool]:
    """A child started from scratch (when the fork server cannot be used); the files as inherited descriptors."""
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module; arguments are JSON we built
        [sys.executable, "-m", "scanning.sandbox", json.dumps({**args, "files": files})],
        cwd=ROOT,
        env=_child_env(),
        stdin=subprocess.DEVNULL,
        stdout=answer,
        stderr=errors,
        pass_fds=tuple(files),
    )
    try:
        status, peak, killed = _wait(child.pid, deadline)
    except BaseException:
        child.kill()
        child.wait()
        raise
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    return status, peak, killed


if __name__ == "__main__":
    main()
