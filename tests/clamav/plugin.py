"""pytest fixtures for the real clamd: one private daemon for the session, pointed at by CLAMD_SOCKET per test."""

import pytest

from . import daemon as clamav


@pytest.fixture(scope="session")
def clamd_daemon():
    if not clamav.available():
        pytest.skip("clamd is not installed (Debian package clamav-daemon; .ci/run installs it)")
    running = clamav.start()
    yield running
    clamav.stop(running)


@pytest.fixture
def real_clamd(clamd_daemon, settings):
    """CLAMD_SOCKET set to the session's clamd; a test that paused it gets it running again."""
    settings.CLAMD_SOCKET = clamd_daemon.socket
    settings.CLAMD_TCP = ""
    yield clamd_daemon
    clamd_daemon.resume()
