"""Start-up stays light: `stockade version` and `--help` import no engine, server or sensor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from stockade.cli.main import (
    COMMAND_MODULES,
    MODULES,
    LazyCommandGroup,
    app,
    registered_commands,
)

HEAVY = (
    "stockade.rules",
    "stockade.scan.vulndb",
    "stockade.scan.scanner",
    "stockade.model",
    "stockade.platform",
    "stockade.agent",
    "stockade.sensor",
    "stockade.context",
    "asyncio",
    "msgspec",
    "yaml",
    "yara",
    "fastapi",
    "sqlalchemy",
    "pydantic",
    "httpx",
    "cryptography",
)
# what a `scan fs --scanners pkg` of a tree holding none of their files never needs
NOT_IN_SCAN_FS = (
    "json",  # Go build settings (gobinary), parsed with msgspec elsewhere
    "shlex",  # Go ldflags (gobinary)
    "yaml",
    "re2",
    "yara",
    "rich",  # only a table or a terminal's progress bar
    "stockade.scan.secrets.engine",
    "stockade.scan.matchers",
    "stockade.scan.vulndb",
    "stockade.scan.sources",
    "stockade.scan.cache",
    "stockade.scan.ignore",  # read only when there is an ignore file
)


def imported_modules(*args: str) -> set[str]:
    """Every module a `stockade` process imports, from `python -X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stockade.cli", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def heavy(modules: set[str]) -> list[str]:
    """The modules of HEAVY (or below them) among `modules`."""
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "args",
    [["version"], ["--help"], ["scan", "image", "--help"], ["rules", "--help"]],
    ids=["version", "help", "scan-image-help", "rules-help"],
)
def test_start_up_imports_no_heavy_module(args: list[str]) -> None:
    modules = imported_modules(*args)
    assert "typer" in modules  # the probe sees the imports
    assert heavy(modules) == []


def test_version_needs_neither_rich_nor_any_command_module() -> None:
    modules = imported_modules("version")
    assert "rich" not in modules
    assert not {f"stockade.cli.{m}" for m in MODULES} & modules


def test_scan_fs_imports_no_other_command_module(tmp_path: Path) -> None:
    # sys.modules after the command, not -X importtime: it misses importlib's imports
    probe = (
        "import sys\n"
        "from stockade.cli.main import app\n"
        "app(sys.argv[1:], standalone_mode=False)\n"
        "print(' '.join(sys.modules), file=sys.stderr)\n"
    )
    args = ["scan", "fs", str(tmp_path), "--scanners", "pkg", "--no-cache", "-f", "json"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
    )
    modules = set(done.stderr.split())
    assert "stockade.cli.scan" in modules
    assert {f"stockade.cli.{m}" for m in MODULES if m != "scan"} & modules == set()
    assert set(NOT_IN_SCAN_FS) & modules == set()


@pytest.mark.parametrize("module", MODULES)
def test_each_command_is_found_in_the_module_that_registers_it(module: str) -> None:
    names = set(registered_commands([module]))
    assert names == {n for n, m in COMMAND_MODULES.items() if m == module}


def test_help_lists_every_command_once_in_registration_order() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, LazyCommandGroup)
    listed = group.list_commands(typer.Context(group))
    assert listed == ["version", *registered_commands(MODULES)]
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert all(name in result.output for name in listed)


def test_unknown_command_suggests_a_lazily_loaded_one() -> None:
    result = CliRunner().invoke(app, ["scna"])
    assert result.exit_code == 2
    assert "Did you mean 'scan'?" in result.output
