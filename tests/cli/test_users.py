"""`stockade user ...` on a data dir, then checked against the real platform serving it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from tests.support.platform_runner import PlatformRunner

PASSWORD = "cli-made-secret-1"


def _user(data_root: Path, *args: str, password: str = PASSWORD) -> str:
    result = CliRunner().invoke(
        app,
        ["user", *args, "--data-dir", str(data_root)],
        env={"STOCKADE_USER_PASSWORD": password},
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.server
def test_cli_manages_users_the_platform_then_honours(tmp_path: Path) -> None:
    _user(tmp_path, "create", "carol", "--role", "analyst")
    _user(tmp_path, "create", "dave")
    _user(tmp_path, "set-role", "dave", "--role", "admin")
    _user(tmp_path, "password", "admin", password="reset-by-the-cli-2")
    listed = _user(tmp_path, "list")
    assert "carol\tanalyst" in listed and "dave\tadmin" in listed
    _user(tmp_path, "delete", "carol")
    assert "carol" not in _user(tmp_path, "list")

    running = PlatformRunner(tmp_path / "platform").start()
    try:
        admin = running.login("admin", "reset-by-the-cli-2")
        dave = running.login("dave", PASSWORD)
        assert dave.get("/api/v1/auth/me").json()["role"] == "admin"
        dave.close()
        audit = admin.get("/api/v1/audit").json()
        admin.close()
        cli = {a["path"] for a in audit if a["method"] == "CLI" and a["source"] == "local"}
        assert cli >= {"user create dave --role viewer", "user delete carol", "user list"}
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "eve", "--role", "root"], "--role: unknown role 'root'"),
        (["create", "eve"], "password too short"),
        (["delete", "nobody"], "no user 'nobody'"),
    ],
    ids=["bad-role", "weak-password", "unknown-user"],
)
def test_cli_mistakes_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(
        app, ["user", *args, "--data-dir", str(tmp_path)], env={"STOCKADE_USER_PASSWORD": "x"}
    )
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
