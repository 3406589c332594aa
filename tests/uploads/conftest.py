"""Fixtures for the uploads tests: a logged-in member client (session verified by a letter PIN), a fake clamd."""

import socket
import threading

import pytest
from django.test import Client
from django.utils import translation

from tests.factories import MemberFactory
from tests.helpers import login_member


@pytest.fixture
def member_client(member, issue_pin):
    return login_member(Client(), issue_pin(member).pin)


@pytest.fixture
def other_member(db):
    return MemberFactory()


@pytest.fixture
def other_client(other_member, issue_pin):
    return login_member(Client(), issue_pin(other_member).pin)


@pytest.fixture
def clamd(tmp_path, settings):
    """A stand-in clamd on a unix socket that answers every INSTREAM with the reply given to it."""
    path = str(tmp_path / "clamd.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    settings.CLAMD_SOCKET = path
    received = bytearray()

    def serve(reply: bytes):
        conn, _ = server.accept()
        with conn:
            while True:
                data = conn.recv(65536)
                received.extend(data)
                if received.endswith(b"\0\0\0\0"):
                    break
            conn.sendall(reply)

    def start(reply: bytes):
        thread = threading.Thread(target=serve, args=(reply,), daemon=True)
        thread.start()
        return received

    yield start
    server.close()


@pytest.fixture(autouse=True)
def _german():
    """Messages are asserted in German, the default; a request in English earlier in the thread must not leak."""
    with translation.override("de"):
        yield
