"""Real Redis servers for the state-store tests (no fakes).

``.ci/run`` starts one ``redis-server`` for the whole run and exports its URL as
``MODEL_ROUTER_TEST_REDIS_URL`` (and the binary as ``MODEL_ROUTER_TEST_REDIS_SERVER``). Tests
that need Redis skip only when that variable is unset (a developer's machine without Redis);
under CI it is always set, so they always run there. Tests that kill and restart a server
start a private one of their own with the same binary.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

URL_ENV = "MODEL_ROUTER_TEST_REDIS_URL"
SERVER_ENV = "MODEL_ROUTER_TEST_REDIS_SERVER"


def redis_url() -> str:
    """The shared test server's URL, or skip (local run without Redis)."""
    url = os.environ.get(URL_ENV)
    if not url:
        pytest.skip(f"{URL_ENV} is not set (.ci/run starts a Redis server and sets it)")
    return url


def redis_binary() -> str:
    """The redis-server binary; missing while a URL is set is a failure, not a skip."""
    binary = os.environ.get(SERVER_ENV) or shutil.which("redis-server")
    if binary:
        return binary
    if os.environ.get(URL_ENV):
        pytest.fail(f"{URL_ENV} is set but no redis-server binary was found ({SERVER_ENV})")
    pytest.skip("no redis-server binary")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of a test's own, on a random port, that the test may kill and restart."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="model-router-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


class StalledServer:
    """A port that accepts connections and never answers a byte (a hung Redis)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()
