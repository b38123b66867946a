"""`python -m stockade.cli.scan` reads plain command lines without typer, exactly as typer does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stockade.cli.scan_commands import build_scan_app
from stockade.cli.scan_options import parse_plain

PLAIN = {
    "defaults": ["fs", "/srv/app"],
    "short-and-long": ["fs", "/srv/app", "-f", "json", "--scanners", "pkg,secret"],
    "equals": ["image", "oci-archive:a.tar", "--format=sarif", "--exit-code=-1"],
    "argument-last": ["fs", "--no-cache", "--severity", "HIGH", "/srv/app"],
    "repeated": ["fs", "d", "-o", "json", "-o", "table=t.txt", "--vex", "a", "--vex", "b"],
    "last-wins": ["fs", "d", "-f", "json", "-f", "sarif", "--exit-code", "3"],
    "flags": ["image", "x", "--ignore-unfixed", "--list-all-pkgs", "--lockfiles"],
    "paths": ["sbom", "bom.json", "--db", "v.db", "--cache-dir", "c", "--yara-rules", "y"],
    "more-paths": ["fs", "d", "--secret-config", "s.yaml", "--ignorefile", ".ignore"],
    "int-spacing": ["fs", "d", "--exit-code", " 7", "--skip-dirs", "a,b"],
}
LEFT_TO_TYPER = {
    "no-command": [],
    "unknown-command": ["fsx", "d"],
    "help": ["fs", "d", "--help"],
    "unknown-option": ["fs", "d", "--formt", "json"],
    "short-with-equals": ["fs", "d", "-f=json"],
    "flag-with-value": ["fs", "d", "--no-cache=1"],
    "missing-value": ["fs", "d", "-o"],
    "value-like-option": ["fs", "d", "-f", "-o"],
    "empty-value": ["fs", "d", "--format="],
    "not-an-int": ["fs", "d", "--exit-code", "x"],
    "extra-argument": ["fs", "d", "e"],
    "no-argument": ["fs", "--no-cache"],
    "end-of-options": ["fs", "--", "d"],
}


def typer_values(args: list[str]) -> tuple[str, Any, dict[str, Any]]:
    """(command, argument, option values) as typer hands them to the scan."""
    seen: list[tuple[str, Any, dict[str, Any]]] = []

    def capture(command: str, subject: Any, values: dict[str, Any]) -> int:
        seen.append((command, subject, values))
        return 0

    result = CliRunner().invoke(build_scan_app(capture), args)
    assert result.exit_code == 0, result.output
    return seen[0]


@pytest.mark.parametrize("args", PLAIN.values(), ids=PLAIN.keys())
def test_a_plain_line_is_read_as_typer_reads_it(args: list[str]) -> None:
    plain = parse_plain(args)
    assert plain is not None
    command, subject, values = typer_values(args)
    assert (plain.command, plain.subject) == (command, str(subject))
    assert {k: v or None for k, v in plain.values.items()} == {
        k: v or None
        for k, v in values.items()  # typer gives () or [] for no repeat
    }


@pytest.mark.parametrize("args", LEFT_TO_TYPER.values(), ids=LEFT_TO_TYPER.keys())
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert parse_plain(args) is None


THROUGH_TYPER = "from stockade.cli.main import app; app(prog_name='stockade')"


def _run(plain: bool, args: list[str]) -> tuple[int, str, str]:
    """`python -m stockade.cli.scan ARGS`, or (not `plain`) `stockade scan ARGS` via typer."""
    how = ["-m", "stockade.cli.scan"] if plain else ["-c", THROUGH_TYPER, "scan"]
    done = subprocess.run(
        [sys.executable, *how, *args],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "100", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    "extra",
    [
        ["--scanners", "pkg", "-f", "json"],  # a scan
        ["--scanners", "pkg", "-f", "json", "--exit-code", "5"],  # with nothing found
        ["--scanners", "pkg,nope", "-f", "json"],  # a bad value: typer's usage error
        ["--scanners", "pkg", "-o", "json=/nonexistent/r.json"],  # Stockade's error line
        ["--scanners", "pkg", "--bogus"],  # typer's own error
    ],
    ids=["scan", "exit-code", "bad-value", "stockade-error", "unknown-option"],
)
def test_the_module_answers_as_stockade_scan_does(tmp_path: Path, extra: list[str]) -> None:
    package = tmp_path / "node_modules" / "left-pad"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"name": "left-pad", "version": "1.3.0"}')
    args = ["fs", str(tmp_path), "--no-cache", *extra]
    assert _run(True, args) == _run(False, args)


def test_a_plain_scan_imports_neither_typer_nor_click(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stockade.cli.scan", "fs", str(tmp_path)]
        + ["--scanners", "pkg", "-f", "json", "--no-cache"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "stockade.cli.scan_run" in imported  # the probe sees the imports
    assert {m for m in imported if m.split(".")[0] in ("typer", "click", "rich")} == set()


def test_the_stockade_command_takes_the_same_path(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    plain = [sys.executable, "-X", "importtime", "-m", "stockade.cli", "scan", "fs"]
    done = subprocess.run(
        [*plain, str(tmp_path), "--scanners", "pkg", "-o", f"json={report}", "--no-cache"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "typer" not in done.stderr and report.is_file()
    bad = [sys.executable, "-m", "stockade.cli", "scan", "fs", str(tmp_path), "--scanners", "x"]
    refused = subprocess.run(bad, capture_output=True, text=True, check=False)
    assert refused.returncode == 2
    assert "Usage: python -m stockade.cli scan fs" in refused.stderr  # named as typer names it
