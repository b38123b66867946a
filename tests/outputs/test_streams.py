"""stdout, file and program outputs: one Falco line per alert; a program that exits restarts."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from stockade.outputs import open_outputs
from stockade.outputs.settings import FileOutput, OutputSettings, ProgramOutput, StdoutOutput
from tests.outputs.alerts import alerts
from tests.support.polling import poll_until


def test_file_output_appends_falco_json_lines(tmp_path: Path) -> None:
    target = tmp_path / "alerts.json"
    settings = OutputSettings(file_output=FileOutput(enabled=True, filename=str(target)))
    outputs = open_outputs(settings, tmp_path)
    outputs.emit(alerts(3))
    outputs.close()
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line["seq"] for line in lines] == [1, 2, 3]


def test_file_output_without_keep_alive_reopens_per_write(tmp_path: Path) -> None:
    target = tmp_path / "alerts.txt"
    file_output = FileOutput(enabled=True, filename=str(target), keep_alive=False)
    outputs = open_outputs(OutputSettings(json_output=False, file_output=file_output), tmp_path)
    outputs.emit(alerts(2))
    target.unlink()  # rotated away: the next write makes a new file
    outputs.emit(alerts(1, first=3))
    outputs.close()
    assert target.read_text().startswith("23:17:03.000000003: Warning Shell in container")


def test_stdout_output_prints_text_lines(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    settings = OutputSettings(json_output=False, stdout_output=StdoutOutput(enabled=True))
    outputs = open_outputs(settings, Path("/nonexistent"))
    outputs.emit(alerts(2))
    outputs.close()
    sys.stdout.flush()
    out = capfdbinary.readouterr().out.decode().splitlines()
    assert [line[:30] for line in out] == [
        "23:17:03.000000001: Warning Sh",
        "23:17:03.000000002: Warning Sh",
    ]


def _exited(pid: int) -> bool:
    """True once `pid` is a zombie or gone (its parent has not reaped it yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _seqs(path: Path) -> list[int]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["seq"] for line in lines]


def test_program_output_is_restarted_after_it_exits(tmp_path: Path) -> None:
    target, pidfile = tmp_path / "got.jsonl", tmp_path / "pid"
    program = f"echo $$ > {pidfile}; exec cat >> {target}"
    settings = OutputSettings(program_output=ProgramOutput(enabled=True, program=program))
    outputs = open_outputs(settings, tmp_path)
    try:
        outputs.emit(alerts(1))
        poll_until(lambda: _seqs(target) == [1], 10, "the first alert written by the program")
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        poll_until(lambda: _exited(pid), 10, "the program gone")
        outputs.emit(alerts(1, first=2))
        poll_until(lambda: _seqs(target) == [1, 2], 10, "the second alert, by a new program")
    finally:
        outputs.close()
    assert int(pidfile.read_text()) != pid
    assert outputs.stats()["program"].retries == 1


def test_a_file_that_cannot_be_written_counts_its_alerts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "gone" / "alerts.json"
    file_output = FileOutput(enabled=True, filename=str(target), keep_alive=False)
    outputs = open_outputs(OutputSettings(file_output=file_output), tmp_path)
    outputs.emit(alerts(4))  # the directory does not exist: nothing raised to the caller
    outputs.close()
    assert outputs.stats()["file"].dropped == 4
    assert "4 alerts not written" in caplog.text
