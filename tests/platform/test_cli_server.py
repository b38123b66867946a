"""`stockade server` as a process: announces its URLs once listening, exits 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.server


def _run_server(data_dir: Path, port: int, agent_port: int) -> tuple[int, str, str]:
    """Start the server, read its announcement, call it, SIGTERM it; returns rc and output."""
    env = {k: v for k, v in os.environ.items() if k != "STOCKADE_ADMIN_PASSWORD"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stockade.cli",
            "server",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--agent-port",
            str(agent_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().decode() for _ in range(2)]
        assert lines[0] == f"Stockade console: https://127.0.0.1:{port}\n", lines
        assert lines[1] == f"Agent endpoint:   https://127.0.0.1:{agent_port}\n", lines
        # announced only once listening: the first call must succeed
        ca = ssl.create_default_context(cafile=str(data_dir / "platform" / "pki" / "ca.crt"))
        assert httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=ca).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        out = proc.stdout.read()  # not communicate(): it would skip what readline buffered
        err = proc.stderr.read() if proc.stderr is not None else b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, "".join(lines) + out.decode(), err.decode()


def test_server_announces_admin_once_and_stops_cleanly(tmp_path: Path) -> None:
    port, agent_port = free_port(), free_port()
    rc, out, err = _run_server(tmp_path / "data", port, agent_port)
    assert rc == 0, err
    assert "Admin login: admin / " in out
    assert "Traceback" not in err
    rc, out, err = _run_server(tmp_path / "data", port, agent_port)
    assert rc == 0, err
    assert "Admin login" not in out
