"""`token create` and `agent revoke` reach the store the servers' configuration names."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app


@pytest.mark.parametrize(
    ("args", "env"),
    [
        pytest.param(["--data-dir", "{root}"], {}, id="flag"),
        pytest.param([], {"STOCKADE_DATA_DIR": "{root}"}, id="environment"),
        pytest.param(["-o", "data_dir={root}"], {}, id="option"),
    ],
)
def test_token_create_uses_the_configured_data_dir(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    root = str(tmp_path / "root")
    given = [a.format(root=root) for a in args]
    result = CliRunner().invoke(
        app, ["token", "create", *given], env={k: v.format(root=root) for k, v in env.items()}
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "root" / "platform" / "stockade.db").is_file()


def test_agent_revoke_uses_the_configured_data_dir(tmp_path: Path) -> None:
    env = {"STOCKADE_DATA_DIR": str(tmp_path)}
    assert CliRunner().invoke(app, ["token", "create"], env=env).exit_code == 0
    result = CliRunner().invoke(app, ["agent", "revoke", "no-such-agent"], env=env)
    assert result.exit_code == 2
    assert f"no agent 'no-such-agent' is enrolled in {tmp_path / 'platform'}" in result.output
