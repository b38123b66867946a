"""The platform's fleet correlation files come from the `server` section; a broken one stops
`stockade server` with one line naming its file, line and column."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.cli.platform import platform_config
from stockade.config.model import ServerSection, StockadeConfig
from tests.support.ports import free_port

BROKEN = """\
- correlation: Worm
  scope: fleet
  kind: spread
  group_by: rule
  hosts: 1
  window: 1m
  priority: CRITICAL
  output: worm
"""


def test_the_files_become_the_platforms(tmp_path: Path) -> None:
    assert platform_config(StockadeConfig(data_dir=str(tmp_path))).fleet_correlations == ()
    section = ServerSection(fleet_correlations=[str(tmp_path / "fleet.yaml")])
    settings = StockadeConfig(data_dir=str(tmp_path), server=section)
    assert platform_config(settings).fleet_correlations == (tmp_path / "fleet.yaml",)


def test_a_broken_file_stops_the_server_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "fleet.yaml"
    broken.write_text(BROKEN)
    config = tmp_path / "stockade.yaml"
    config.write_text(f"server: {{fleet_correlations: [{broken}], port: {free_port()}}}\n")
    result = CliRunner().invoke(
        app, ["server", "--config", str(config), "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{broken}:5:10: LOAD_ERR_YAML_VALIDATE" in lines[0]


def test_rules_validate_counts_the_fleet_correlations(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("[]\n")
    good = tmp_path / "fleet.yaml"
    good.write_text(BROKEN.replace("hosts: 1", "hosts: 2"))
    runner = CliRunner()
    args = ["rules", "validate", "--no-host-check", str(rules), "--correlations"]
    result = runner.invoke(app, [*args, str(good)])
    assert result.exit_code == 0, result.output
    assert "ok: 0 correlations, 1 fleet correlations" in result.output
    good.write_text(BROKEN)
    result = runner.invoke(app, [*args, str(good)])
    assert result.exit_code == 1
    assert f"{good}:5:10: LOAD_ERR_YAML_VALIDATE" in result.output
