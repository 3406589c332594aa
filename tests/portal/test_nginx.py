"""deploy/nginx.conf for real: Debian's nginx in front of a recording backend on free loopback ports."""

import http.server
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from campaigns.constants import MAX_CSV_BYTES
from tests.loopback import free_port, self_signed_certificate, wait_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not shutil.which("nginx") or not shutil.which("openssl"), reason="needs Debian's nginx and openssl"
)


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict] = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        remaining = length
        while remaining:
            remaining -= len(self.rfile.read(min(remaining, 1 << 20)))
        Recorder.seen.append({"path": self.path, "headers": dict(self.headers), "length": length})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    """nginx with the deployed configuration; the two replicas are one recording backend."""
    folder = tmp_path_factory.mktemp("nginx")
    (folder / "tls").mkdir()
    self_signed_certificate(folder / "tls", common_name="localhost")
    # nginx's workers run as nobody and pytest's folders are private to root: static files in a readable folder.
    public = Path(tempfile.mkdtemp(prefix="portal-nginx-static-"))
    public.chmod(0o755)
    (public / "static" / "css").mkdir(parents=True)
    (public / "static" / "css" / "site.css").write_text("body{}")
    for path in (public / "static", public / "static" / "css"):
        path.chmod(0o755)
    (public / "static" / "css" / "site.css").chmod(0o644)
    backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    http_port, https_port = free_port(), free_port()
    upstream = f"127.0.0.1:{backend.server_address[1]}"
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("web-1:8000", upstream).replace("web-2:8000", upstream)
    conf = conf.replace("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;")
    conf = conf.replace("listen 443 ssl default_server;", f"listen 127.0.0.1:{https_port} ssl default_server;")
    conf = conf.replace("/etc/nginx/tls/", f"{folder}/tls/").replace("root /srv;", f"root {public};")
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        conf = conf.replace("http {", f"http {{\n    {temp}_temp_path {folder}/{temp};", 1)
    if os.geteuid() == 0:
        # Bodies are buffered to client_body_temp_path, in pytest's folder, which only its user may write to.
        conf = "user root;\n" + conf
    (folder / "nginx.conf").write_text(conf)
    process = subprocess.Popen(
        [
            "nginx",
            "-c",
            str(folder / "nginx.conf"),
            "-p",
            str(folder),
            "-g",
            f"daemon off; pid {folder}/nginx.pid; error_log {folder}/error.log;",
        ],
    )
    wait_port(https_port, seconds=10, process=process)
    yield {"http": http_port, "https": https_port}
    process.terminate()
    process.wait(timeout=10)
    backend.shutdown()
    shutil.rmtree(public)


def fetch(port: int, path: str, *, method="GET", data=None, headers=None, https=True):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    scheme = "https" if https else "http"
    url = f"{scheme}://127.0.0.1:{port}{path}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_metrics_and_readiness_are_not_answered_to_the_public(edge):
    Recorder.seen.clear()
    for path in ("/metrics", "/readyz"):
        status, _, _ = fetch(edge["https"], path, headers={"Authorization": "Bearer anything"})
        assert status == 404
    assert Recorder.seen == []


def test_the_client_address_replaces_a_forged_forwarded_for_and_a_request_id_is_set(edge):
    Recorder.seen.clear()
    status, _, _ = fetch(edge["https"], "/anmelden/", headers={"X-Forwarded-For": "6.6.6.6"})
    assert status == 200
    headers = Recorder.seen[-1]["headers"]
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "https"
    assert len(headers["X-Request-ID"]) == 32


def test_only_the_tus_upload_url_streams_request_bodies_to_the_nodes():
    """Every other body is read completely by nginx first: a slow client waits on nginx, never on a worker."""
    conf = "\n".join(line.split("#", 1)[0] for line in (ROOT / "deploy" / "nginx.conf").read_text().splitlines())
    # Answers are buffered too (nginx's default, not switched off anywhere): slow readers wait on nginx as well.
    assert conf.count("proxy_request_buffering") == 1 and "proxy_buffering" not in conf
    tus = re.search(r'location ~ "\^/antrag/uploads/\[0-9a-f-\]\{36\}/\$" \{(.*?)\}', conf, re.DOTALL).group(1)
    assert "proxy_request_buffering off;" in tus
    assert re.search(r"client_body_timeout (\d+)s;", tus).group(1) == "10"
    assert "limit_conn tus_per_address" in tus


TUS_URL = "/antrag/uploads/0b7e2a3c-5d1f-4e8a-9c6b-2f4d8e1a7c90/"


def test_a_tus_chunk_passes_and_a_body_above_the_limit_is_refused(edge):
    Recorder.seen.clear()
    chunk = b"x" * settings.UPLOAD_CHUNK_SIZE
    headers = {"Content-Type": "application/offset+octet-stream"}
    status, _, _ = fetch(edge["https"], TUS_URL, method="PATCH", data=chunk, headers=headers)
    assert status == 200
    assert Recorder.seen[-1]["length"] == len(chunk)
    # More than a chunk is not a tus PATCH of this portal.
    status, _, _ = fetch(edge["https"], TUS_URL, method="PATCH", data=chunk * 2, headers=headers)
    assert status == 413
    status, _, _ = fetch(edge["https"], "/antrag/dateien/hochladen/", method="POST", data=b"x" * (22 * 2**20))
    assert status == 413


@pytest.mark.parametrize("path", ["/admin/campaigns/campaign/add/", "/admin/campaigns/campaign/17/change/"])
def test_a_campaign_member_list_of_the_largest_allowed_size_reaches_the_app(edge, path):
    Recorder.seen.clear()
    envelope = 64 * 1024  # the form's other fields and the multipart boundaries
    status, _, _ = fetch(edge["https"], path, method="POST", data=b"x" * (MAX_CSV_BYTES + envelope))
    assert status == 200
    assert Recorder.seen[-1] == {**Recorder.seen[-1], "path": path, "length": MAX_CSV_BYTES + envelope}
    status, _, _ = fetch(edge["https"], path, method="POST", data=b"x" * (MAX_CSV_BYTES + 2 * 2**20))
    assert status == 413
    # Only the campaign forms: another admin page keeps the general limit.
    status, _, _ = fetch(edge["https"], "/admin/members/member/add/", method="POST", data=b"x" * (22 * 2**20))
    assert status == 413


def test_static_files_come_from_the_shared_folder_and_http_redirects(edge):
    Recorder.seen.clear()
    status, headers, body = fetch(edge["https"], "/static/css/site.css")
    assert (status, body) == (200, b"body{}")
    assert "immutable" in headers["Cache-Control"]
    assert Recorder.seen == []
    status, headers, _ = fetch(edge["http"], "/anmelden/", https=False)
    assert status == 301 and headers["Location"].startswith("https://")
    assert fetch(edge["http"], "/nginx-health", https=False)[0] == 200
