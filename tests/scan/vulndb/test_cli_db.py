"""`stockade db import` and `stockade db status` on the corpus directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stockade.cli import import_progress, main
from stockade.cli.import_progress import LineProgress


@pytest.fixture
def app() -> typer.Typer:
    return main.app  # the real entry point: it turns Stockade's errors into one line


def test_import_and_status(app: typer.Typer, corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    database = tmp_path / "v.sqlite"
    for folder, line in (
        ("osv-pypi", "(osv 2651)"),
        ("nodejs-security-wg", "nodejs-wg 467"),
        ("golang-vulndb", "imported"),
    ):
        args = ["db", "import", str(corpus / "vulndb" / folder), "--db", str(database)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert line in result.output

    status = runner.invoke(app, ["db", "status", "--db", str(database)])
    assert status.exit_code == 0, status.output
    assert "ecosystem: PyPI 2651" in status.output
    assert "ecosystem: npm 467" in status.output
    assert status.output.count("source: ") == 3

    doc = json.loads(runner.invoke(app, ["db", "status", "--db", str(database), "--json"]).output)
    assert doc["ecosystems"]["PyPI"] == 2651
    assert doc["ecosystems"]["Go"] > 4000
    assert doc["last_import"] == max(s["imported_at"] for s in doc["sources"])


def test_reimport_replaces(app: typer.Typer, corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    database = tmp_path / "v.sqlite"
    source = str(corpus / "vulndb/nodejs-security-wg")
    for _ in range(2):
        assert runner.invoke(app, ["db", "import", source, "--db", str(database)]).exit_code == 0
    doc = json.loads(runner.invoke(app, ["db", "status", "--db", str(database), "--json"]).output)
    assert doc["ecosystems"] == {"npm": 467}
    assert len(doc["sources"]) == 1


def test_import_missing_path_fails(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["db", "import", str(tmp_path / "nope"), "--db", str(tmp_path / "v.sqlite")]
    )
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_status_without_database(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["db", "status", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 2
    assert "stockade db import" in result.output


def test_import_reports_progress_on_stderr(
    app: typer.Typer, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_progress, "START_DELAY", 0.0)  # this import is over in a second
    args = ["db", "import", str(corpus / "vulndb/osv-pypi"), "--db", str(tmp_path / "v.sqlite")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    reading = [line for line in lines if line.startswith("reading advisory files: ")]
    assert reading and reading[-1] == f"reading advisory files: {reading[-1].split()[-1]}"
    done, total = reading[-1].split()[-1].split("/")
    assert done == total and int(total) >= 2651  # the last line says every file was read
    assert "storing advisories: 2651/2651" in lines
    assert "imported 2651" not in result.stderr  # the summary stays on stdout


def test_line_progress_writes_each_step_and_then_every_interval() -> None:
    written: list[str] = []
    now = [0.0]
    progress = LineProgress(written.append, interval=2.0, delay=0.05, clock=lambda: now[0])
    progress("read", 0, 10)  # before the delay: a quick import shows nothing
    for done in range(1, 10):  # ten files in one second: one line, then the last
        now[0] = done / 10
        progress("read", done, 10)
    progress("read", 10, 10)
    now[0] = 1.5
    progress("store", 0, 50)
    now[0] = 3.6
    progress("store", 20, 50)
    progress("store", 30, 50)
    assert written == [
        "reading advisory files: 1/10",
        "reading advisory files: 10/10",
        "storing advisories: 0/50",
        "storing advisories: 20/50",
    ]
