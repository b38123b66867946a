"""`stockade agent` reads the configuration file, STOCKADE_* variables, -o and flags, in order.

The agent itself is replaced by a recorder of the configuration it is built with: what is
under test is how the command layers its settings (the agent's own behaviour with outputs is
proven in tests/agent/test_outputs_live.py).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

import stockade.agent
from stockade.agent import AgentConfig
from stockade.cli.main import app

CONFIG = """
agent:
  alert_window: 5
  server: https://platform.example:8701
  fim: true
syslog_output:
  enabled: true
  host: 127.0.0.1
  port: 6514
  protocol: tls
"""


class _Recorder:
    """Stands in for the agent: keeps the configuration and returns at once."""

    built: list[AgentConfig] = []

    def __init__(self, config: AgentConfig, on_ready: object = None) -> None:
        self.built.append(config)

    def run(self, stop: threading.Event) -> None:
        """Nothing to run: the test looks at the configuration only."""


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[AgentConfig]:
    _Recorder.built = []
    monkeypatch.setattr(stockade.agent, "Agent", _Recorder)
    return _Recorder.built


def _agent(tmp_path: Path, env: dict[str, str], *args: str) -> AgentConfig:
    config = tmp_path / "stockade.yaml"
    config.write_text(CONFIG)
    command = ["agent", "--config", str(config), "--state-dir", str(tmp_path / "state"), *args]
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 0, result.output
    assert len(_Recorder.built) == 1
    return _Recorder.built[0]


def test_the_file_sets_the_agent_and_its_outputs(
    tmp_path: Path, recorded: list[AgentConfig]
) -> None:
    config = _agent(tmp_path, {})
    assert config.alert_window_s == 5
    assert config.server_url == "https://platform.example:8701"
    assert config.fim is not None
    assert config.outputs is not None
    syslog = config.outputs.syslog_output
    assert (syslog.enabled, syslog.host, syslog.port, syslog.protocol) == (
        True,
        "127.0.0.1",
        6514,
        "tls",
    )


def test_each_layer_wins_over_the_one_before(tmp_path: Path, recorded: list[AgentConfig]) -> None:
    env = {"STOCKADE_AGENT__ALERT_WINDOW": "7", "STOCKADE_SYSLOG_OUTPUT__PORT": "7514"}
    config = _agent(tmp_path, env, "-o", "agent.alert_window=9", "-o", "syslog_output.port=8514")
    assert config.alert_window_s == 9  # -o over the variable over the file
    assert config.outputs is not None
    assert config.outputs.syslog_output.port == 8514
    _Recorder.built.clear()
    config = _agent(tmp_path, env, "-o", "agent.alert_window=9", "--alert-window", "11")
    assert config.alert_window_s == 11  # an explicit flag over -o
    assert config.outputs is not None
    assert config.outputs.syslog_output.port == 7514  # the variable over the file


def test_an_unknown_o_key_is_one_line(tmp_path: Path, recorded: list[AgentConfig]) -> None:
    config = tmp_path / "stockade.yaml"
    config.write_text(CONFIG)
    args = ["agent", "--config", str(config), "-o", "agent.no_such_key=1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code != 0
    assert "agent.no_such_key" in result.output
    assert "Traceback" not in result.output
    assert recorded == []
