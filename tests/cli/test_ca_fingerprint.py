"""The CA fingerprint `stockade token create` prints is the one `stockade agent
--ca-fingerprint` enrolls with; a wrong one is refused before the token is sent (the same
token then still enrolls). The commands as a user runs them, against a real platform."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.datadir import platform_dir
from stockade.cli.main import app
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until
from tests.support.processes import STOCKADE, end

pytestmark = pytest.mark.server

ENROLLED_WITHIN_S = 60  # the agent command starting (imports) and enrolling


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[PlatformRunner]:
    """A platform whose data dir `token create --data-dir` opens beside it."""
    runner = PlatformRunner(platform_dir(tmp_path / "root")).start()
    yield runner
    runner.stop()


def _agent(platform: PlatformRunner, state: Path, token_file: Path, pin: str) -> list[str]:
    return [
        *STOCKADE,
        "agent",
        "--state-dir",
        str(state),
        "--server",
        platform.agent_url,
        "--enroll-token-file",
        str(token_file),
        "--ca-fingerprint",
        pin,
        "--source",
        "proc_connector",
    ]


def test_the_printed_fingerprint_enrolls_and_a_wrong_one_is_refused(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    made = CliRunner().invoke(app, ["token", "create", "--data-dir", str(tmp_path / "root")])
    assert made.exit_code == 0, made.output
    [pin] = [line.split(": ", 1)[1] for line in made.stderr.splitlines() if "fingerprint" in line]
    assert pin == f"sha256:{platform.ca_fingerprint}"
    token_file = tmp_path / "token"
    token_file.write_text(made.stdout.strip())

    wrong = subprocess.run(
        _agent(platform, tmp_path / "wrong", token_file, "sha256:" + "0" * 64),
        capture_output=True,
        timeout=ENROLLED_WITHIN_S,
        check=False,
    )
    stderr = wrong.stderr.decode()
    assert wrong.returncode != 0 and "Traceback" not in stderr, stderr
    assert platform.ca_fingerprint in stderr and "0" * 64 in stderr, stderr
    assert not (tmp_path / "wrong" / "agent_id").exists()

    state = tmp_path / "right"
    agent = subprocess.Popen(
        _agent(platform, state, token_file, pin),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        poll_until(
            lambda: (state / "agent_id").is_file() or agent.poll() is not None,
            ENROLLED_WITHIN_S,
            "the agent to enroll with the printed fingerprint",
        )
    finally:
        end(agent)
    assert (state / "agent_id").is_file(), agent.stderr.read() if agent.stderr else ""
    with contextlib.closing(platform.login()) as admin:
        listed = {a["id"] for a in admin.get("/api/v1/agents").json()}
    assert (state / "agent_id").read_text().strip() in listed
