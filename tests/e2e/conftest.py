"""`stockade up` on a temporary data dir and free ports, as a real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port_pair
from tests.support.processes import Running, login, start, stop, wait_for_line


@pytest.fixture
def stockade_up(tmp_path: Path) -> Iterator[Running]:
    """`stockade up` on a temporary data dir and free port; stopped with SIGTERM after."""
    port = free_port_pair()
    proc = start(["up", "--data-dir", str(tmp_path / "data"), "--port", str(port)])
    try:
        line = wait_for_line(proc, "Stockade console:")
        url = line.split("Stockade console:", 1)[1].strip()
        running = Running(proc, url, tmp_path / "data", login(url, tmp_path / "data"))
        yield running
        running.api.close()
        assert stop(proc) == 0, "stockade up did not exit cleanly on SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
