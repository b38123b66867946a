"""`stockade up` end to end: a shell in a real container becomes an alert in the API."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Running, poll_until
from tests.support.podman import Podman


def start_interactive_shell(podman: Podman, image: str) -> tuple[str, str, subprocess.Popen[bytes]]:
    """Run `sh -i` in a new container fed from a pipe; returns (name, full id, process)."""
    name = f"e2e-shell-{uuid.uuid4().hex[:8]}"
    shell = podman.popen(image, "sh", "-i", name=name)
    assert shell.stdin is not None and shell.stdout is not None
    shell.stdin.write(b"echo shell-is-up\n")
    shell.stdin.flush()
    lines: list[bytes] = []
    while len(lines) < 20 and not any(b"shell-is-up" in line for line in lines):
        lines.append(shell.stdout.readline())
    assert any(b"shell-is-up" in line for line in lines), f"no answer from the shell: {lines}"
    return name, podman.inspect_id(name), shell


def shell_alerts(running: Running, container_id: str) -> list[dict[str, Any]]:
    """Alerts of the shell rule for one container, from the API."""
    answer = running.api.get("/api/v1/alerts", params={"container": container_id})
    answer.raise_for_status()
    return [a for a in answer.json() if a["rule"] == "Terminal shell in container"]


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.podman
@pytest.mark.server
def test_shell_in_container_is_alerted_within_10s(
    stockade_up: Running, podman: Podman, busybox_image: str
) -> None:
    name, container_id, shell = start_interactive_shell(podman, busybox_image)
    try:
        started = time.monotonic()
        alerts = poll_until(lambda: shell_alerts(stockade_up, container_id), bool, timeout=10)
        assert alerts, f"no shell alert for container {container_id} within 10 s"
        took = time.monotonic() - started
        alert = alerts[0]  # type: ignore[index]
        assert alert["container_id"] == container_id
        assert len(container_id) == 64
        fields = alert["output_fields"]
        assert fields["container.name"] == name
        assert fields["container.image.repository"].endswith("stockade-test-busybox")
        assert fields["proc.name"] == "sh"
        assert took <= 10
    finally:
        podman.remove(name)
        shell.kill()


def test_up_refuses_an_unwritable_data_dir_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "stockade.cli",
            "up",
            "--data-dir",
            str(blocker / "data"),
            "--port",
            "1",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert str(blocker) in lines[0]
