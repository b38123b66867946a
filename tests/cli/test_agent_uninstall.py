"""`stockade agent uninstall` removes the pinned sensor; `--pin-dir` reaches the agent."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.sensor.bpf.pins import PinLayout


def test_uninstall_removes_the_pins_and_says_how_many(tmp_path: Path) -> None:
    layout = PinLayout(tmp_path / "stockade")
    for path in (layout.map_path("events"), layout.link_path("k1", "on_exec")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    result = CliRunner().invoke(app, ["agent", "uninstall", "--pin-dir", str(layout.root)])
    assert result.exit_code == 0, result.output
    assert "removed 2 pins" in result.output
    assert not layout.root.exists()
    again = CliRunner().invoke(app, ["agent", "uninstall", "--pin-dir", str(layout.root)])
    assert again.exit_code == 0
    assert "nothing pinned" in again.output


def test_a_ring_size_that_is_no_power_of_two_is_one_line(tmp_path: Path) -> None:
    args = ["agent", "--state-dir", str(tmp_path), "-o", "agent.ring_mib=3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "agent.ring_mib must be a power of 2" in result.output
    assert "Traceback" not in result.output
