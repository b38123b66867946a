"""A real nats-server with JetStream on loopback (Debian's package), started by a test."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

from tests.support.ci import require
from tests.support.polling import poll_until
from tests.support.ports import free_port
from tests.support.processes import end

NATS_SERVER = Path("/usr/sbin/nats-server")
START_TIMEOUT_S = 30


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            return conn.recv(4).startswith(b"INFO")
    except OSError:
        return False


class NatsServer:
    """nats-server -js on a fixed port and store dir, so a restart keeps its streams."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.log_path = store_dir.parent / f"nats-{self.port}.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NatsServer:
        """Start the server and wait until it answers; returns self."""
        require(NATS_SERVER.is_file(), f"{NATS_SERVER} missing (Debian package nats-server)")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    str(NATS_SERVER),
                    "-js",
                    "-sd",
                    str(self.store_dir),
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        poll_until(lambda: self._ready(), START_TIMEOUT_S, f"nats-server on port {self.port}")
        return self

    def _ready(self) -> bool:
        assert self._proc is not None
        if self._proc.poll() is not None:
            raise AssertionError(f"nats-server exited: {self.log_path.read_text()[-2000:]}")
        return _accepts(self.port)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGKILL: as a crash would) and wait for it."""
        if self._proc is not None:
            end(self._proc, sig, START_TIMEOUT_S)
        self._proc = None

    def restart(self, sig: int = signal.SIGTERM) -> None:
        """Stop and start again on the same port and store dir."""
        self.stop(sig)
        self.start()
