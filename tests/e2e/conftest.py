"""Fixtures that run real `stockade` processes: `stockade up`, `server` and `agent`."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

STOCKADE = [sys.executable, "-m", "stockade.cli"]
ADMIN_PASSWORD = "e2e-admin-password"


def free_port_pair() -> int:
    """A port P such that P and P+1 are both free on loopback."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return int(port)
    raise RuntimeError("no free port pair found")


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a `stockade` subcommand with its output on pipes."""
    return subprocess.Popen(
        [*STOCKADE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "STOCKADE_ADMIN_PASSWORD": ADMIN_PASSWORD, **(env or {})},
    )


def wait_for_line(proc: subprocess.Popen[bytes], needle: str, timeout: float = 60) -> str:
    """Read stdout until a line containing `needle`; fail with the output so far."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline().decode(errors="replace")
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            if needle in line:
                return line
        elif proc.poll() is not None:
            break
    err = (
        proc.stderr.read().decode(errors="replace")
        if proc.poll() is not None and proc.stderr
        else ""
    )
    raise AssertionError(f"{needle!r} not printed; stdout={''.join(seen)!r} stderr={err!r}")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Signal a process and wait for it; returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"process did not stop within {timeout}s after signal {sig}") from None


@dataclass
class Running:
    """A running `stockade up` with an admin API client."""

    proc: subprocess.Popen[bytes]
    console_url: str
    data_dir: Path
    api: httpx.Client


def login(console_url: str) -> httpx.Client:
    """An API client logged in as the admin."""
    client = httpx.Client(base_url=console_url, timeout=10)
    answer = client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


@pytest.fixture
def stockade_up(tmp_path: Path) -> Iterator[Running]:
    """`stockade up` on a temporary data dir and free port; stopped with SIGTERM after."""
    port = free_port_pair()
    proc = start(["up", "--data-dir", str(tmp_path / "data"), "--port", str(port)])
    try:
        line = wait_for_line(proc, "Stockade console:")
        url = line.split("Stockade console:", 1)[1].strip()
        running = Running(proc, url, tmp_path / "data", login(url))
        yield running
        running.api.close()
        assert stop(proc) == 0, "stockade up did not exit cleanly on SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def poll_until(fetch: object, predicate: object, timeout: float) -> object:
    """Call fetch() until predicate(result) holds or the timeout passes; return the result."""
    deadline = time.monotonic() + timeout
    result = fetch()  # type: ignore[operator]
    while not predicate(result) and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.1)
        result = fetch()  # type: ignore[operator]
    return result
