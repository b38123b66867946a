"""`stockade replay` and `stockade agent` as commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.agent.hostinfo import this_host
from stockade.model import Ancestor, Container, Event, Process
from stockade.model.events import encode_jsonl
from tests.support.platform_runner import PlatformRunner

STOCKADE = [sys.executable, "-c", "from stockade.cli.main import app; app()"]
BOX = Container(id="cd" * 32, name="web", runtime="podman", image_repository="busybox")


def _capture(path: Path) -> Path:
    events = [
        Event(
            type="execve",
            ts=10,
            proc=Process(pid=5, name="sh", argv=("sh", "-i")),
            container=BOX,
            ancestors=(Ancestor(pid=4, name="conmon"),),
        ),
        Event(
            type="execve",
            ts=11,
            proc=Process(pid=6, name="sh", argv=("sh", "-c", "true")),
            container=BOX,
        ),
        Event(type="execve", ts=12, proc=Process(pid=7, name="bash", tty=34816)),
    ]
    path.write_bytes(encode_jsonl(events))
    return path


def _stockade(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*STOCKADE, *args],
        capture_output=True,
        timeout=timeout,
    )


def test_replay_prints_falco_json_alerts(tmp_path: Path) -> None:
    result = _stockade("replay", str(_capture(tmp_path / "c.jsonl")))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1
    alert = json.loads(lines[0])
    assert alert["rule"] == "Terminal shell in container" and alert["priority"] == "Notice"
    assert alert["output_fields"]["proc.cmdline"] == "sh -i"
    assert alert["output_fields"]["container.name"] == "web"
    assert alert["container_id"] == "cd" * 32 and alert["hostname"]


def test_replay_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "execve", "ts": 1, "proc": {"pid": 1}}\n{"type": 3}\n')
    result = _stockade("replay", str(bad))
    assert result.returncode == 2 and b"bad.jsonl:2" in result.stderr


@pytest.mark.server
def test_replay_to_a_platform(platform: PlatformRunner, tmp_path: Path) -> None:
    state = tmp_path / "agent"
    creds = platform.credentials(state, this_host(state))
    result = _stockade(
        "replay",
        str(_capture(tmp_path / "c.jsonl")),
        "--server",
        platform.agent_url,
        "--state-dir",
        str(state),
    )
    assert result.returncode == 0, result.stderr
    platform.stop()
    assert sorted(platform.stored_event_seqs(creds.agent_id)) == [1, 3, 4]  # alert is seq 2
    assert platform.stored_alert_rules(creds.agent_id) == ["Terminal shell in container"]
    platform.start()


@pytest.mark.root
@pytest.mark.server
@pytest.mark.ebpf
def test_agent_command_enrolls_and_stops_on_sigterm(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    agent = subprocess.Popen(
        [
            *STOCKADE,
            "agent",
            "--state-dir",
            str(state),
            "--server",
            platform.agent_url,
            "--ca-fingerprint",
            platform.platform.ca_fingerprint,
        ],
        env={**os.environ, "STOCKADE_ENROLL_TOKEN": platform.token()},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert agent.stdout is not None
    line = agent.stdout.readline().decode()
    assert line.startswith("stockade agent running: id "), line
    assert "source ebpf" in line  # the first source of the default chain
    agent.send_signal(signal.SIGTERM)
    _, err = agent.communicate(timeout=30)
    assert b"Traceback" not in err
    assert agent.returncode == 0, err
    assert (state / "agent_id").is_file()
    assert os.stat(state / "agent.key").st_mode & 0o077 == 0
