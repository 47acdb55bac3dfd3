"""A real S3 API (moto's server) on 127.0.0.1, started by the tests themselves, and s3fs as the
client: no mocked client, no network beyond the loopback address."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env_extra: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """moto's server in its own process (so Ray workers and CLI subprocesses reach it too)."""
    port = _free_port()
    env = {**os.environ, **CREDENTIALS, **(env_extra or {})}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto server did not start")


@pytest.fixture(scope="session")
def s3_server():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    proc, url = _start()
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture
def s3(s3_server, monkeypatch):
    """Environment pointing every S3 client (this process, subprocesses, Ray workers) at the
    local server; yields (an s3fs filesystem, a fresh bucket name)."""
    import s3fs

    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_server}.items():
        monkeypatch.setenv(key, value)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    yield fs, bucket


@pytest.fixture
def s3_denied(monkeypatch):
    """A second server that enforces IAM authentication: any request with our keys is denied."""
    proc, url = _start({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    for key, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": url}.items():
        monkeypatch.setenv(key, value)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
