"""Sigma rules of the corpus run as hunts over stored events (bodies stored as ingest does)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest

from stockade.hunt.engine import HuntError
from stockade.hunt.sigma import sigma_hunt
from stockade.hunt.source import SqliteHuntSource
from stockade.model import Event, Process
from stockade.platform.store.migrations import migrate

NOW = 1_800_000_000 * 10**9
INSERT = (
    "INSERT INTO events (agent_id, seq, ts, host_id, container_id, type, proc_name, "
    "proc_pid, body) VALUES ('a1', ?, ?, 'h1', '', 'execve', ?, ?, ?)"
)


def _exec(seq: int, exe: str, *argv: str) -> tuple[object, ...]:
    proc = Process(pid=100 + seq, name=Path(exe).name, exepath=exe, argv=argv, uid=0, euid=0)
    event = Event(type="execve", ts=NOW - seq, proc=proc, seq=seq, host_id="h1")
    return (seq, event.ts, proc.name, proc.pid, msgspec.msgpack.encode(event))


def test_a_corpus_sigma_rule_finds_the_stored_exec_it_describes(
    tmp_path: Path, corpus: Path
) -> None:
    """The corpus's nohup rule matches the stored nohup exec and nothing else."""
    database = tmp_path / "stockade.db"
    conn = sqlite3.connect(database)
    migrate(conn)
    rows = [
        _exec(1, "/usr/bin/nohup", "nohup", "sleep", "60"),
        _exec(2, "/bin/ls", "ls", "-la"),
        _exec(3, "/usr/bin/curl", "curl", "http://example.test"),
    ]
    conn.executemany(INSERT, rows)
    conn.commit()
    conn.close()
    rules = corpus / "sigma" / "rules" / "linux" / "process_creation"
    result = sigma_hunt(
        SqliteHuntSource(database), [rules / "proc_creation_lnx_nohup.yml"], (NOW - 10**9, NOW)
    )
    assert result.refused == []
    assert [(m.rule, m.proc_cmdline) for m in result.matches] == [
        ("Nohup Execution", "nohup sleep 60")
    ]
    assert result.scanned == 3

    old = sigma_hunt(
        SqliteHuntSource(database), [rules / "proc_creation_lnx_nohup.yml"], (0, NOW - 10**9)
    )
    assert old.matches == [] and old.scanned == 0


def test_yaml_that_is_no_sigma_rule_is_refused_in_one_line(tmp_path: Path) -> None:
    """A document that is not a mapping is a one-line HuntError, not a traceback."""
    rule = tmp_path / "rule.yml"
    rule.write_text("0")
    with pytest.raises(HuntError, match="must be a Sigma rule"):
        sigma_hunt(SqliteHuntSource(tmp_path / "unused.db"), [rule], (0, NOW))


def test_malformed_yaml_is_refused_with_its_line_and_column(tmp_path: Path) -> None:
    """A parse error names the file, line and column in one line, as rule loading does."""
    rule = tmp_path / "rule.yml"
    rule.write_text("title: x\ndetection: [\n")
    with pytest.raises(HuntError) as caught:
        sigma_hunt(SqliteHuntSource(tmp_path / "unused.db"), [rule], (0, NOW))
    assert str(caught.value).startswith("sigma hunt: rule.yml:3:1: not valid YAML: ")
    assert "\n" not in str(caught.value)
