"""gunicorn settings for the portal's web container."""

import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
# Threads, not one request per process: nginx hands every body over complete and takes every answer at once
# (deploy/nginx.conf), except a tus PATCH, whose chunk streams from the member as it arrives. A slow PATCH holds
# one thread of a worker's four, not the worker (measured with tests/cluster/test_slow_clients.py: four slow
# PATCHes stalled two nodes of two sync workers; with four threads each, pages and logins kept answering).
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Idle connections from nginx's upstream keepalive wait in the worker's poller, holding no thread; longer than
# nginx's own 60 s, so that nginx, not gunicorn, closes an idle one (no request sent on a closing connection).
keepalive = 75
timeout = 60
graceful_timeout = 30
max_requests = 2000
max_requests_jitter = 200
# The portal writes one JSON line per request itself (core/requestid.py: route pattern, status, duration,
# request id); gunicorn's own access line (full path with query string, not JSON) only when asked for.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn's control socket: every master on a host would announce the same ~/.gunicorn/gunicorn.ctl, so it is
# off unless GUNICORN_CONTROL_SOCKET names a path of this master's own.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
control_socket_disable = not control_socket
if not control_socket:
    del control_socket

# Prometheus in multiprocess mode: each worker writes its counters into this master's own folder, /metrics adds
# them up (ops/views.py). Set before the workers import the portal; emptied at start, removed at exit.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="portal-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def on_starting(server):
    os.makedirs(_metrics_dir, exist_ok=True)
    for name in os.listdir(_metrics_dir):
        os.unlink(os.path.join(_metrics_dir, name))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir.startswith(tempfile.gettempdir() + os.sep + "portal-metrics-"):
        shutil.rmtree(_metrics_dir, ignore_errors=True)
