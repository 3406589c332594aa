"""A small client for ClamAV's daemon (INSTREAM over a unix socket or TCP), fail-closed on every doubt.

Our own rather than a library: clamav-client is GPL-2.0 and `clamd` dates from 2014; this is one command of a
documented protocol, tested against the real daemon (tests/scanning/).
"""

import socket
import struct
from dataclasses import dataclass
from typing import IO

from django.conf import settings

# One INSTREAM chunk: read into one buffer and sent as it is (its length header apart, never joined to it).
CHUNK = 1024 * 1024


class ScannerUnavailable(Exception):
    """No verdict: the daemon is unreachable or starting, timed out, dropped the stream, or the file is too large."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # unreachable, timeout, too_large, error


@dataclass(frozen=True)
class Verdict:
    infected: bool
    signature: str = ""


def scanner_address() -> tuple[int, str | tuple[str, int]] | None:
    """(family, address) from CLAMD_TCP ("host:port", preferred) or CLAMD_SOCKET; None when neither is set."""
    tcp = getattr(settings, "CLAMD_TCP", "")
    if tcp:
        host, _sep, port = tcp.rpartition(":")
        return socket.AF_INET, (host.strip("[]") or "127.0.0.1", int(port))
    if settings.CLAMD_SOCKET:
        return socket.AF_UNIX, settings.CLAMD_SOCKET
    return None


def scanner_configured() -> bool:
    return scanner_address() is not None


def _connect(timeout: float) -> socket.socket:
    address = scanner_address()
    if address is None:
        raise ScannerUnavailable("unreachable")
    family, target = address
    try:
        if family == socket.AF_INET:
            return socket.create_connection(target, timeout=timeout)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(timeout)
        try:
            conn.connect(target)
        except BaseException:
            conn.close()
            raise
        return conn
    except TimeoutError as error:
        raise ScannerUnavailable("timeout") from error
    except OSError as error:
        # No socket file yet, connection refused: not running or still loading its database.
        raise ScannerUnavailable("unreachable") from error


def _reply(conn: socket.socket) -> str:
    data = bytearray()
    while not data.endswith(b"\0") and len(data) < 4096:
        piece = conn.recv(4096)
        if not piece:
            break
        data.extend(piece)
    return data.rstrip(b"\0").decode("utf-8", "replace").strip()


def _verdict(reply: str) -> Verdict:
    # "stream: OK", "stream: Name FOUND", "INSTREAM size limit exceeded. ERROR", "...: Error ... ERROR"
    if reply.endswith(" FOUND"):
        signature = reply.removeprefix("stream:").removesuffix(" FOUND").strip()
        return Verdict(infected=True, signature=signature)
    if reply == "stream: OK":
        return Verdict(infected=False)
    if "size limit" in reply:
        raise ScannerUnavailable("too_large")
    raise ScannerUnavailable("error")


def ping(*, timeout: float = 5) -> bool:
    """True when the daemon answers PONG (it is up and has loaded its database)."""
    try:
        with _connect(timeout) as conn:
            conn.sendall(b"zPING\0")
            return _reply(conn) == "PONG"
    except (ScannerUnavailable, OSError):
        return False


def scan_stream(src: IO[bytes], *, timeout: float | None = None) -> Verdict:
    """Send the file to clamd in chunks (INSTREAM) and return its verdict; ScannerUnavailable when there is none."""
    timeout = timeout if timeout is not None else settings.CLAMD_TIMEOUT
    with _connect(timeout) as conn:
        try:
            conn.sendall(b"zINSTREAM\0")
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            while count := src.readinto(buffer):
                conn.sendall(struct.pack("!L", count))
                conn.sendall(view[:count])
            conn.sendall(struct.pack("!L", 0))
            return _verdict(_reply(conn))
        except TimeoutError as error:
            raise ScannerUnavailable("timeout") from error
        except OSError as error:
            # Above StreamMaxLength clamd answers and closes while we still send: read what it said.
            try:
                reply = _reply(conn)
            except OSError:
                reply = ""
            if "size limit" in reply:
                raise ScannerUnavailable("too_large") from error
            raise ScannerUnavailable("error") from error
