"""Commands read the configuration file, STOCKADE_* variables, -o and flags, in that order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.model import Event, Process
from stockade.model.events import encode_jsonl

RULE = """
- rule: Shell spawned
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: shell %proc.name
  priority: NOTICE
"""
SECOND = 1_000_000_000


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """Four shells: three within 30 s of the first (one alert with a count), one long after."""
    path = tmp_path / "capture.jsonl"
    events = [
        Event(type="execve", ts=t * SECOND, proc=Process(pid=t, name="bash"), seq=t)
        for t in (1, 2, 3, 100)
    ]
    path.write_bytes(encode_jsonl(events))
    return path


def _watch(
    tmp_path: Path, capture: Path, config: str | None, env: dict[str, str], *args: str
) -> list[str]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULE)
    out = tmp_path / "alerts.out"
    out.unlink(missing_ok=True)
    command = ["watch", "-r", str(rules), "--replay", str(capture), "-o", str(out), *args]
    if config is not None:
        path = tmp_path / "stockade.yaml"
        path.write_text(config)
        command += ["--config", str(path)]
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 0, result.output
    return out.read_text().splitlines()


@pytest.mark.parametrize(
    ("config", "env", "args", "alerts"),
    [
        (None, {}, [], 3),  # the default window, 30 s
        ("watch:\n  alert_window: 0\n", {}, [], 4),
        ("watch:\n  alert_window: 0\n", {"STOCKADE_WATCH__ALERT_WINDOW": "30"}, [], 3),
        (None, {"STOCKADE_WATCH__ALERT_WINDOW": "30"}, ["-o", "watch.alert_window=0"], 4),
        (None, {}, ["-o", "watch.alert_window=0", "--alert-window", "30"], 3),
    ],
    ids=["default", "file", "env-over-file", "o-over-env", "flag-over-o"],
)
def test_watch_takes_each_layer_over_the_one_before(
    tmp_path: Path, capture: Path, config: str | None, env: dict[str, str], args: list[str],
    alerts: int,
) -> None:  # fmt: skip
    assert len(_watch(tmp_path, capture, config, env, *args)) == alerts


def test_watch_writes_falcos_text_format_when_told(tmp_path: Path, capture: Path) -> None:
    config = "json_output: false\njson_include_stockade_fields: false\n"
    lines = _watch(tmp_path, capture, config, {}, "-o", "watch.alert_window=0")
    assert lines[0].startswith("00:00:01.000000000: Notice shell bash")
    assert len(lines) == 4
    json_lines = _watch(tmp_path, capture, None, {}, "-o", "json_include_tags_property=false")
    assert "tags" not in json.loads(json_lines[0])


@pytest.mark.parametrize(
    ("command", "config", "message"),
    [
        (["server"], "server:\n  prot: 1\n", "{file}: unknown key server.prot"),
        (["agent"], "agent:\n  rules: [a\n", "{file}:3:1: malformed YAML"),
        (["up"], "syslog_output: 3\n", "{file}: syslog_output: Expected `object`, got `int`"),
        (
            ["watch"],
            "stdout_output:\n  enabled: maybe\n",
            "{file}: stdout_output.enabled: Expected",
        ),
    ],
    ids=["server", "agent", "up", "watch"],
)
def test_a_bad_file_is_one_line_naming_it(
    tmp_path: Path, command: list[str], config: str, message: str
) -> None:
    path = tmp_path / "stockade.yaml"
    path.write_text(config)
    result = CliRunner().invoke(app, [*command, "--config", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("stockade: error: " + message.format(file=path))


def test_server_rejects_an_unknown_o_key(tmp_path: Path) -> None:
    args = ["server", "--data-dir", str(tmp_path), "-o", "server.prot=1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip() == "stockade: error: -o server.prot=1: unknown key server.prot"
    assert not tmp_path.joinpath("platform").exists()


def test_watch_sends_to_a_webhook_set_by_o(tmp_path: Path, capture: Path) -> None:
    from tests.support.http_receivers import WebhookReceiver

    receiver = WebhookReceiver("s3cret").start()
    try:
        lines = _watch(
            tmp_path, capture, None, {"STOCKADE_OUTPUTS_QUEUE__DIRECTORY": str(tmp_path / "q")},
            "-o", "webhook_output.enabled=true", "-o", f"webhook_output.url={receiver.url}/",
            "-o", "webhook_output.secret=s3cret",
        )  # fmt: skip
    finally:
        receiver.stop()  # watch drained its queue before it returned
    assert [a["event_seq"] for a in receiver.alerts] == [1, 3, 100]
    assert len(lines) == 3  # the alerts file still has them too
