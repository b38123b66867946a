"""`stockade up` end to end: a shell in a real container becomes an alert in the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stockade.agent.hostinfo import host_id
from tests.support.podman import Podman
from tests.support.polling import poll_until
from tests.support.processes import Running


@pytest.mark.root
@pytest.mark.ebpf
@pytest.mark.podman
@pytest.mark.server
def test_shell_in_container_is_alerted_within_10s(
    stockade_up: Running, podman: Podman, busybox_image: str
) -> None:
    name, container_id, shell = podman.interactive_shell(busybox_image)
    try:
        alerts = poll_until(
            lambda: stockade_up.shell_alerts(container_id), 10, f"a shell alert for {container_id}"
        )
        alert = alerts[0]
        assert alert["container_id"] == container_id
        assert len(container_id) == 64
        fields = alert["output_fields"]
        assert fields["container.name"] == name
        assert fields["container.image.repository"].endswith("stockade-test-busybox")
        assert fields["proc.name"] == "sh"
        assert fields["container.image.tag"] == busybox_image.rsplit(":", 1)[1]
        assert alert["host_id"] == host_id(None)  # which host, in the API's alert too
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
