"""Slow clients cannot stall the web: 20 anonymous POSTs to the login page and a member's tus PATCHes, each sending
one byte every 2 s, are held open for 60 s through nginx (deploy/nginx.conf) in front of both nodes
(deploy/gunicorn.conf.py), while other members load pages and log in."""

import base64
import re
import socket
import ssl
import threading
import time
import urllib.parse

import pytest
import requests

from tests.factories import MemberFactory

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
SLOW_CLIENTS = 20
HOLD_SECONDS = 60
BYTE_EVERY = 2.0
PAGE_WITHIN = 1.0  # seconds
LOGIN_WITHIN = 2.0
# A request that waits this long is stalled: the test says so instead of waiting for nginx's own timeout.
STALLED = 15
TUS_PER_ADDRESS = 4  # deploy/nginx.conf: limit_conn tus_per_address

pytestmark = pytest.mark.django_db(transaction=True)


class Trickle:
    """Connections that each send their request's head, then their body one byte every BYTE_EVERY seconds."""

    def __init__(self, port: int, heads: list[bytes]):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the cluster's throw-away certificate
        self.sockets = []
        for head in heads:
            sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
            sock.sendall(head)
            self.sockets.append(sock)
        self.sent = 0
        self.failed: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(BYTE_EVERY):
            for sock in self.sockets:
                try:
                    sock.sendall(b"a")
                except OSError as error:
                    self.failed.append(repr(error))
            self.sent += 1

    def still_waiting(self) -> int:
        """How many connections are open with no answer yet (nginx neither answered nor closed them)."""
        waiting = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                sock.recv(1)
            except ssl.SSLWantReadError:
                waiting += 1
            except OSError:
                pass
        return waiting

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        for sock in self.sockets:
            sock.close()


def slow_login_posts(cluster, count: int) -> list[bytes]:
    """Anonymous POSTs to the login page announcing a 1,000-byte form, with what a browser sends along (the CSRF
    cookie of a login page fetched before, the Referer), so that the portal reads the body to check the token."""
    web = cluster.session()
    assert web.get(f"{cluster.base}/anmelden/", timeout=STALLED).status_code == 200
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in web.cookies)
    head = (
        f"POST /anmelden/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\nReferer: {cluster.base}/anmelden/\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    return [head] * count


def slow_tus_patches(cluster, issue_pin, count: int) -> list[bytes]:
    """A logged-in member's PATCHes, each to an upload of its own, announcing a 1,000-byte chunk."""
    web, _timings = member_visit(cluster, issue_pin)
    draft = web.get(f"{cluster.base}/antrag/", timeout=STALLED)
    csrf = CSRF_META.search(draft.text).group(1)
    tus = {"X-CSRFToken": csrf, "Tus-Resumable": "1.0.0"}
    heads = []
    for index in range(count):
        name = base64.b64encode(f"Seite-{index}.pdf".encode()).decode()
        created = web.post(
            f"{cluster.base}/antrag/uploads/",
            headers={**tus, "Upload-Length": "1000", "Upload-Metadata": f"filename {name}"},
            timeout=STALLED,
        )
        assert created.status_code == 201, created.text[:300]
        path = urllib.parse.urlsplit(created.headers["Location"]).path
        cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in web.cookies)
        heads.append(
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\nX-CSRFToken: {csrf}\r\n"
            f"Referer: {cluster.base}/antrag/\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            "Content-Type: application/offset+octet-stream\r\nContent-Length: 1000\r\n\r\n".encode()
        )
    return heads


def member_visit(cluster, issue_pin) -> tuple[requests.Session, dict[str, float]]:
    """A member opens the login page, logs in and opens the draft page; the seconds each answer took."""
    member = MemberFactory()
    pin = issue_pin(member)
    web = cluster.session()
    timings = {}
    started = time.monotonic()
    page = web.get(f"{cluster.base}/anmelden/", timeout=STALLED)
    timings["login page"] = time.monotonic() - started
    assert page.status_code == 200
    started = time.monotonic()
    login = web.post(
        f"{cluster.base}/anmelden/",
        data={"csrfmiddlewaretoken": CSRF_INPUT.search(page.text).group(1), "kvnr": member.kvnr, "pin": pin.plaintext},
        allow_redirects=False,
        timeout=STALLED,
    )
    timings["login"] = time.monotonic() - started
    assert login.status_code == 302, login.text[:300]
    started = time.monotonic()
    draft = web.get(f"{cluster.base}/antrag/", timeout=STALLED)
    timings["draft page"] = time.monotonic() - started
    assert draft.status_code == 200
    return web, timings


@pytest.mark.slow(80)
def test_slow_posts_and_a_members_slow_chunks_held_for_a_minute_do_not_stall_pages_or_logins(cluster, issue_pin):
    member_visit(cluster, issue_pin)
    # 20 anonymous slow POSTs, and a member's tus PATCHes as slow as nginx lets them be, as many as it lets one
    # address have at once (a PATCH's body streams to the node: each holds a worker thread while it lasts).
    patches = slow_tus_patches(cluster, issue_pin, TUS_PER_ADDRESS + 1)
    slow = Trickle(cluster.port, slow_login_posts(cluster, SLOW_CLIENTS) + patches[:TUS_PER_ADDRESS])
    visits = []
    try:
        hold_ends = time.monotonic() + HOLD_SECONDS
        time.sleep(2 * BYTE_EVERY)  # every slow body has started to arrive
        while time.monotonic() < hold_ends - 10:
            visits.append(member_visit(cluster, issue_pin)[1])
            time.sleep(5)
        # One PATCH more from the same address is refused at once (503: the upload page tries again later).
        extra = Trickle(cluster.port, patches[TUS_PER_ADDRESS:])
        extra.stop.set()
        answer = extra.sockets[0].recv(100)
        extra.close()
        assert answer.startswith(b"HTTP/1.1 503"), answer
        time.sleep(max(0.0, hold_ends - time.monotonic()))
        # The slow clients were held the whole minute: still sending, never answered nor cut off.
        assert slow.failed == [] and slow.sent >= HOLD_SECONDS / BYTE_EVERY - 1, (slow.sent, slow.failed[:3])
        assert slow.still_waiting() == SLOW_CLIENTS + TUS_PER_ADDRESS
    finally:
        slow.close()
    print(f"\nmember visits during the hold (s): {visits}")
    assert len(visits) >= 4
    worst = {name: max(visit[name] for visit in visits) for name in visits[0]}
    assert worst["login page"] <= PAGE_WITHIN and worst["draft page"] <= PAGE_WITHIN, visits
    assert worst["login"] <= LOGIN_WITHIN, visits
