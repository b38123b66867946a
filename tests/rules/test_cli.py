"""`stockade rules validate | fields | explain | test` through the real Typer app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app

RULE = """
- rule: Shell spawned
  desc: d
  condition: evt.type = execve and proc.name in (bash, sh)
  output: shell %proc.name
  priority: NOTICE
"""
EVENT = {
    "type": "execve",
    "ts": 1,
    "proc": {"pid": 3, "name": "bash", "argv": ["bash"]},
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_validate_ok_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    good = _write(tmp_path, "good.yaml", RULE)
    result = runner.invoke(app, ["rules", "validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "ok: 1 rules" in result.output
    bad = _write(tmp_path, "bad.yaml", RULE.replace("proc.name in", "proc.nme in"))
    result = runner.invoke(app, ["rules", "validate", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2:3: LOAD_ERR_COMPILE_CONDITION:" in result.output
    assert "proc.nme" in result.output


def test_fields_lists_the_table() -> None:
    result = CliRunner().invoke(app, ["rules", "fields", "--json"])
    assert result.exit_code == 0
    names = {row["name"] for row in json.loads(result.output)}
    assert {"proc.name", "fd.name", "container.id", "proc.aname", "evt.arg"} <= names


def test_explain_shows_deciding_clause_and_values(tmp_path: Path) -> None:
    rules = _write(tmp_path, "r.yaml", RULE)
    event = _write(tmp_path, "e.json", json.dumps(EVENT))
    result = CliRunner().invoke(app, ["rules", "explain", "-r", str(rules), "--event", str(event)])
    assert result.exit_code == 0, result.output
    assert "rule 'Shell spawned': MATCH" in result.output
    other = dict(EVENT, proc={"pid": 3, "name": "python3"})
    event.write_text(json.dumps(other))
    result = CliRunner().invoke(app, ["rules", "explain", "-r", str(rules), "--event", str(event)])
    assert "rule 'Shell spawned': no match" in result.output
    assert "false  proc.name in (bash, sh)   [proc.name=python3]" in result.output


def test_watch_replays_a_capture_and_prints_falco_json(tmp_path: Path) -> None:
    from stockade.model import Event, Process
    from stockade.model.events import encode_jsonl

    rules = _write(tmp_path, "r.yaml", RULE)
    capture = tmp_path / "capture.jsonl"
    capture.write_bytes(
        encode_jsonl(
            [
                Event(type="execve", ts=1, proc=Process(pid=1, name="bash"), seq=1),
                Event(type="execve", ts=2, proc=Process(pid=2, name="ls"), seq=2),
                Event(type="execve", ts=3, proc=Process(pid=3, name="sh"), seq=3),
            ]
        )
    )
    out = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(
        app, ["watch", "-r", str(rules), "--replay", str(capture), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [a["event_seq"] for a in alerts] == [1, 3]
    assert alerts[0]["rule"] == "Shell spawned"
    assert alerts[0]["priority"] == "Notice"
    assert alerts[0]["output_fields"] == {  # with what Falco's container plugin adds
        "proc.name": "bash",
        "container.id": "host",
        "container.name": "host",
        "container.image.repository": None,
        "container.image.tag": None,
    }
    assert set(alerts[0]) >= {"uuid", "output", "time", "source", "tags", "hostname"}


def test_watch_prints_repeats_once_with_their_count(tmp_path: Path) -> None:
    from stockade.model import Event, Process
    from stockade.model.events import encode_jsonl

    rules = _write(tmp_path, "r.yaml", RULE)
    second = 1_000_000_000
    capture = tmp_path / "capture.jsonl"
    capture.write_bytes(
        encode_jsonl(
            [
                Event(type="execve", ts=t * second, proc=Process(pid=t, name="bash"), seq=t)
                for t in (1, 2, 3, 100)  # three within 30 s of the first, one long after
            ]
        )
    )

    def watched(*flags: str) -> list[dict[str, Any]]:
        out = tmp_path / f"alerts{len(flags)}.jsonl"
        args = ["watch", "-r", str(rules), "--replay", str(capture), "-o", str(out), *flags]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in out.read_text().splitlines()]

    alerts = watched()
    assert [(a["event_seq"], a["count"]) for a in alerts] == [(1, 1), (3, 2), (100, 1)]
    unaggregated = watched("--alert-window", "0")
    assert [(a["event_seq"], a["count"]) for a in unaggregated] == [(t, 1) for t in (1, 2, 3, 100)]


CORRELATION = """
- correlation: Many connects
  condition: evt.type = connect
  group_by: [container.id]
  threshold: 5
  window: 10s
  priority: NOTICE
  output: "%corr.count connects"
"""


def test_watch_runs_the_correlations_beside_the_rules(tmp_path: Path) -> None:
    from stockade.model import Event, FdInfo, Process
    from stockade.model.events import encode_jsonl

    rules = _write(tmp_path, "r.yaml", RULE)
    (tmp_path / "correlations").mkdir()
    _write(tmp_path / "correlations", "c.yaml", CORRELATION.replace("threshold: 5", "threshold: 3"))
    capture = tmp_path / "capture.jsonl"
    connect = FdInfo(type="ipv4", l4proto="tcp", sip="10.0.0.9", dip="10.0.0.1", dport=80)
    events = [
        Event(type="connect", ts=i * 10**9, proc=Process(pid=1, name="curl"), fd=connect, seq=i)
        for i in range(1, 5)
    ]
    capture.write_bytes(encode_jsonl(events))
    out = tmp_path / "alerts.jsonl"
    result = CliRunner().invoke(
        app, ["watch", "-r", str(rules), "--replay", str(capture), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(a["rule"], a["event_seq"]) for a in alerts] == [("Many connects", 3)]
    assert alerts[0]["output_fields"]["corr.count"] == 3


def test_validate_checks_correlation_files_too(tmp_path: Path) -> None:
    runner = CliRunner()
    rules = _write(tmp_path, "rules.yaml", RULE)
    good = _write(tmp_path, "good.yaml", CORRELATION)
    result = runner.invoke(app, ["rules", "validate", str(rules), "--correlations", str(good)])
    assert result.exit_code == 0, result.output
    assert "ok: 1 correlations" in result.output
    bad = _write(tmp_path, "bad.yaml", CORRELATION.replace("10s", "soon"))
    result = runner.invoke(app, ["rules", "validate", str(rules), "--correlations", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:6:11: LOAD_ERR_YAML_VALIDATE: 'window' must be a duration" in result.output


@pytest.mark.root  # tracefs, which says what this host's sensor can attach to, is root's
def test_validate_warns_about_event_types_this_host_does_not_capture(tmp_path: Path) -> None:
    # Falco's scheduler event: no Stockade sensor produces it, on any kernel.
    rule = RULE.replace("evt.type = execve", "evt.type in (execve, switch)")
    path = _write(tmp_path, "r.yaml", rule)
    result = CliRunner().invoke(app, ["rules", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}:2:3: warning LOAD_EVTTYPE_NOT_CAPTURED: needs event type(s) switch" in (
        result.stderr
    )
    quiet = CliRunner().invoke(app, ["rules", "validate", "--no-host-check", str(path)])
    assert "LOAD_EVTTYPE_NOT_CAPTURED" not in quiet.stderr
