"""The disarm in a child process under operating-system limits, so a hostile file kills the child, never the worker.

The parent (`disarm_isolated`) starts `python -m scanning.sandbox` with the files as inherited descriptors; the
child sets RLIMIT_AS (its address space after the imports plus the memory budget) and RLIMIT_CPU, disarms, and
prints one JSON line. A child that hits a limit dies (MemoryError, SIGXCPU, SIGKILL) or is killed at the wall-clock
deadline: the file is refused as too complex. The child's peak RSS is its VmHWM (/proc), which starts afresh at
exec (wait4's ru_maxrss would count the parent's pages the child had for a moment between fork and exec): the
child reports it when it ends, and the parent samples it while it waits, for a child that is killed.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from .assemble import Page, PageRefused, pages_assemble
from .disarm import ActiveContentLeft, DecodeBudget, DisarmFailed, ImageTooLarge, TooComplex, image_disarm, pdf_disarm

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


def _assemble_child(args: dict, limits: Limits) -> dict:
    out = os.fdopen(args["out"], "r+b", closefd=False)
    pages = [Page(src=os.fdopen(fd, "rb", closefd=False), rotation=rotation) for fd, rotation in args["pages"]]
    try:
        pages_assemble(pages, out, budget=limits.image_budget)
        out.flush()
    except PageRefused as error:
        return {**_refusal(error.cause), "page": error.number}
    except MemoryError:
        return {"refused": "too_complex", "detail": "memory"}
    return {"mime": "application/pdf"}


def _child(args: dict) -> dict:
    limits = Limits(**{key: args[key] for key in ("memory", "cpu_seconds", "wall_seconds", "image_budget", "pdf")})
    _limit(limits.memory, limits.cpu_seconds)
    if args.get("mode") == "assemble":
        return _assemble_child(args, limits)
    src = os.fdopen(args["src"], "rb", closefd=False)
    out = os.fdopen(args["out"], "r+b", closefd=False)
    strings = os.fdopen(args["strings"], "wb", closefd=False)
    try:
        if args["mime"] == "application/pdf":
            pdf_disarm(src, out, budget=DecodeBudget(**limits.pdf), strings=strings)
            mime = "application/pdf"
        else:
            mime = image_disarm(src, out, mime=args["mime"], budget=limits.image_budget)
        out.flush()
        strings.flush()
    except DisarmFailed as error:
        return _refusal(error)
    except MemoryError:
        return {"refused": "too_complex", "detail": "memory"}
    return {"mime": mime}


def main() -> None:
    answer = _child(json.loads(sys.argv[1]))
    answer["peak_rss"] = _status("VmHWM")
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    os._exit(0)  # nothing left to tidy; skip interpreter teardown under the limits


def _wait(pid: int, deadline: float) -> tuple[int, int, bool]:
    """Wait for the child (killing it at the deadline); its status, the highest VmHWM seen, whether it was killed."""
    peak = 0
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status, peak, False
        peak = max(peak, _status("VmHWM", pid))
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _done, status = os.waitpid(pid, 0)
            return status, peak, True
        time.sleep(0.01)


def disarm_isolated(*, src: IO[bytes], out: IO[bytes], strings: IO[bytes], mime: str, limits: Limits) -> Outcome:
    """Disarm `src` (a real file) into `out` in a limited child; `strings` receives the decoded strings of a PDF."""
    args = {"mime": mime, "src": src.fileno(), "out": out.fileno(), "strings": strings.fileno()}
    src.seek(0)
    outcome = _isolated(args, fds=(src.fileno(), out.fileno(), strings.fileno()), limits=limits)
    out.seek(0)
    strings.seek(0)
    return outcome


def assemble_isolated(*, pages: list[tuple[IO[bytes], int]], out: IO[bytes], limits: Limits) -> Outcome:
    """Assemble the pages (real files of checked images, each with the member's clockwise turn) into one PDF in
    `out`, in a child under the same limits as one disarm (scanning.assemble)."""
    for src, _rotation in pages:
        src.seek(0)
    args = {"mode": "assemble", "out": out.fileno(), "pages": [(src.fileno(), rotation) for src, rotation in pages]}
    outcome = _isolated(args, fds=(out.fileno(), *(src.fileno() for src, _rotation in pages)), limits=limits)
    out.seek(0)
    return outcome


def _isolated(task: dict, *, fds: tuple[int, ...], limits: Limits) -> Outcome:
    """Run the child on `task` with the descriptors `fds` and the limits; its answer, or why it was stopped."""
    args = {**asdict(limits), **task}
    # No secrets from our environment; few malloc arenas, or a threaded decoder reserves 64 MiB of address space
    # per thread and meets RLIMIT_AS without using the memory.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "MALLOC_ARENA_MAX": "2"}
    with tempfile.TemporaryFile() as answer, tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module; arguments are JSON we built
            [sys.executable, "-m", "scanning.sandbox", json.dumps(args)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=answer,
            stderr=errors,
            pass_fds=fds,
        )
        try:
            status, peak, killed = _wait(child.pid, time.monotonic() + limits.wall_seconds)
        except BaseException:
            # Interrupted (Celery's soft time limit, shutdown): the child must not outlive the check.
            child.kill()
            child.wait()
            raise
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        answer.seek(0)
        line = answer.read(4096).decode("utf-8", "replace").strip()
        errors.seek(0)
        tail = errors.read(65536).decode("utf-8", "replace").strip().splitlines()[-1:]
    if killed:
        return Outcome(refused="too_complex", peak_rss=peak, detail="wall-clock limit")
    if child.returncode != 0 or not line:
        how = f"signal {-child.returncode}" if child.returncode < 0 else f"exit {child.returncode}"
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


if __name__ == "__main__":
    main()
