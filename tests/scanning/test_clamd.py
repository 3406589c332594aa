"""The INSTREAM client against the real clamd (our test signatures): verdicts, chunking, limits, failures."""

import io
import socket
import threading

import pytest

from scanning import clamd
from scanning.clamd import ScannerUnavailable
from tests.clamav.daemon import EICAR, MARKER

from .pdfs import pdf_bytes


def test_clean_pdf_is_clean(real_clamd):
    assert clamd.scan_stream(io.BytesIO(pdf_bytes())) == clamd.Verdict(infected=False)


def test_pdf_with_eicar_attachment_is_infected(real_clamd):
    verdict = clamd.scan_stream(io.BytesIO(pdf_bytes(extra_attachment=EICAR)))
    assert verdict.infected and verdict.signature


def test_marker_split_across_chunk_boundaries_is_found(real_clamd):
    # The marker straddles the client's chunk boundary: clamd must see one stream, not separate pieces.
    data = b"A" * (clamd.CHUNK - 10) + MARKER + b"B" * 1000
    assert clamd.scan_stream(io.BytesIO(data)).infected


def test_ping_answers_pong(real_clamd):
    assert clamd.ping()


def test_tcp_address_is_used_when_set(settings):
    settings.CLAMD_TCP = "127.0.0.1:1"
    settings.CLAMD_SOCKET = "/nonexistent"
    assert clamd.scanner_address() == (socket.AF_INET, ("127.0.0.1", 1))
    with pytest.raises(ScannerUnavailable) as error:
        clamd.scan_stream(io.BytesIO(b"x"), timeout=2)
    assert error.value.reason == "unreachable"


def test_stream_above_stream_max_length_is_too_large(real_clamd):
    # clamd.conf's StreamMaxLength is 25M: clamd answers "size limit exceeded" and drops the socket.
    data = io.BytesIO(b"\0" * (26 * 2**20))
    with pytest.raises(ScannerUnavailable) as error:
        clamd.scan_stream(data, timeout=30)
    assert error.value.reason == "too_large"


def test_hung_daemon_times_out(real_clamd):
    real_clamd.pause()
    with pytest.raises(ScannerUnavailable) as error:
        clamd.scan_stream(io.BytesIO(b"x" * 1000), timeout=0.5)
    assert error.value.reason == "timeout"
    real_clamd.resume()
    assert clamd.ping()


def test_stopped_daemon_is_unreachable(settings, tmp_path):
    settings.CLAMD_SOCKET = str(tmp_path / "gone.sock")
    with pytest.raises(ScannerUnavailable) as error:
        clamd.scan_stream(io.BytesIO(b"x"))
    assert error.value.reason == "unreachable"
    assert not clamd.ping()


def test_starting_daemon_refusing_connections_is_unreachable(settings, tmp_path):
    # A socket bound but not yet listening (clamd still loading its database) refuses connections.
    path = str(tmp_path / "starting.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bound:
        bound.bind(path)
        settings.CLAMD_SOCKET = path
        with pytest.raises(ScannerUnavailable) as error:
            clamd.scan_stream(io.BytesIO(b"x"))
    assert error.value.reason == "unreachable"


def test_connection_dropped_midway_gives_no_verdict(settings, tmp_path):
    path = str(tmp_path / "drop.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def drop():
        conn, _ = server.accept()
        conn.recv(100)
        conn.close()

    threading.Thread(target=drop, daemon=True).start()
    settings.CLAMD_SOCKET = path
    with pytest.raises(ScannerUnavailable) as error:
        clamd.scan_stream(io.BytesIO(b"x" * (4 * 2**20)), timeout=5)
    assert error.value.reason == "error"
    server.close()
