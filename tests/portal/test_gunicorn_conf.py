"""deploy/gunicorn.conf.py: no shared control socket, a metrics folder of the master's own."""

import runpy
from pathlib import Path

from gunicorn.config import Config

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def load(monkeypatch, tmp_path, **env) -> Config:
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    # The file sets this variable for the workers; monkeypatch puts the old value back after the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Config()
    for key, value in runpy.run_path(str(CONF)).items():
        if key in config.settings:
            config.set(key, value)
    return config


def test_the_control_socket_is_off_by_default(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path)
    assert config.control_socket_disable is True


def test_a_control_socket_of_its_own_when_named(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path, GUNICORN_CONTROL_SOCKET=str(tmp_path / "web1.ctl"))
    assert config.control_socket_disable is False
    assert config.control_socket == str(tmp_path / "web1.ctl")


def test_each_master_gets_its_own_metrics_folder(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    first = runpy.run_path(str(CONF))["_metrics_dir"]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    second = runpy.run_path(str(CONF))["_metrics_dir"]
    assert first != second
    for folder in (first, second):
        Path(folder).rmdir()


def test_workers_run_threads_and_outlast_nginxs_idle_upstream_connections(monkeypatch, tmp_path):
    config = load(monkeypatch, tmp_path)
    # A tus PATCH streams its chunk from the member: it holds one thread of a worker, not the worker.
    assert config.worker_class_str == "gthread" and config.threads >= 4
    # nginx keeps idle connections to the nodes for 60 s (its upstream keepalive_timeout): gunicorn waits longer,
    # so nginx never sends a request on a connection gunicorn is closing.
    nginx = (CONF.parent / "nginx.conf").read_text()
    assert "keepalive 16;" in nginx and "keepalive_timeout" not in nginx
    assert config.keepalive > 60
