"""Real `stockade` processes (`up`, `server`, `agent`) started and stopped by a test."""

from __future__ import annotations

import os
import select
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

STOCKADE = [sys.executable, "-m", "stockade.cli"]
ADMIN_PASSWORD = "e2e-console-secret-1"
SHELL_RULE = "Terminal shell in container"


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


def end(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Signal a process and wait for it; SIGKILL it if it has not ended by the timeout."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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


def console_client(console_url: str, data_root: Path) -> httpx.Client:
    """A client for the console of the platform in `data_root`, trusting its CA only."""
    verify = ssl.create_default_context(cafile=str(data_root / "platform" / "pki" / "ca.crt"))
    return httpx.Client(base_url=console_url, timeout=10, verify=verify)


def login(console_url: str, data_root: Path) -> httpx.Client:
    """An API client logged in as the admin."""
    client = console_client(console_url, data_root)
    answer = client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


@dataclass
class Running:
    """A running `stockade up` with an admin API client."""

    proc: subprocess.Popen[bytes]
    console_url: str
    data_dir: Path
    api: httpx.Client

    def shell_alerts(self, container_id: str) -> list[dict[str, Any]]:
        """Alerts of the container shell rule for one container, from the API."""
        answer = self.api.get("/api/v1/alerts", params={"container": container_id})
        answer.raise_for_status()
        return [a for a in answer.json()["items"] if a["rule"] == SHELL_RULE]
