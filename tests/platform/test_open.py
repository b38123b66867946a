"""Opening the platform: clear one-line errors for unusable data dirs and ports; CLI exits 1."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stockade.cli.main import app
from stockade.platform import Platform, PlatformConfig, PlatformError
from tests.support.ports import free_port


def _one_line_error(config: PlatformConfig) -> str:
    with pytest.raises(PlatformError) as caught:
        Platform.open(config)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_file_in_the_way(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    message = _one_line_error(PlatformConfig(data_dir=blocker))
    assert str(blocker) in message
    assert "choose another --data-dir" in message


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    message = _one_line_error(PlatformConfig(data_dir=tmp_path / "file" / "data"))
    assert message.startswith(f"cannot write data dir {tmp_path / 'file' / 'data'}: ")
    assert "Not a directory" in message


def test_damaged_database_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "stockade.db").write_bytes(b"this is not a database" * 200)
    message = _one_line_error(PlatformConfig(data_dir=tmp_path / "d"))
    assert message.startswith(f"cannot set up data dir {tmp_path / 'd'}: cannot open database")
    assert "file is not a database" in message
    assert message.endswith("choose another --data-dir")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A read-only tmpfs mounted for the test."""
    target = tmp_path / "ro"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(target)], check=True)
    yield target
    subprocess.run(["umount", str(target)], check=True)


@pytest.mark.root
def test_read_only_mount(read_only_dir: Path) -> None:
    data_dir = read_only_dir / "data"
    message = _one_line_error(PlatformConfig(data_dir=data_dir))
    assert message.startswith(f"cannot write data dir {data_dir}: Read-only file system")


@pytest.mark.parametrize(
    "command", [["server"], ["token", "create"]], ids=["server", "token-create"]
)
def test_cli_prints_one_line_and_exits_1(tmp_path: Path, command: list[str]) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("x")
    result = CliRunner().invoke(app, [*command, "--data-dir", str(blocker)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"stockade: error: cannot write data dir {blocker / 'platform'}")
    assert "Traceback" not in result.output


def test_reopen_keeps_admin_and_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKADE_ADMIN_PASSWORD", "chosen-secret-7")
    first = Platform.open(PlatformConfig(data_dir=tmp_path / "d"))
    first.close()
    assert first.first_admin_password is None  # the environment's password is never echoed
    second = Platform.open(PlatformConfig(data_dir=tmp_path / "d"))
    second.close()
    assert second.first_admin_password is None
    assert second.ca_pem == first.ca_pem
    assert (tmp_path / "d" / "pki" / "ca.key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("password", ["x", "admin-password", "aaaaaaaaaaaaaaaa"])
def test_weak_admin_password_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.setenv("STOCKADE_ADMIN_PASSWORD", password)
    result = CliRunner().invoke(app, ["token", "create", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "STOCKADE_ADMIN_PASSWORD: password" in result.stderr
    assert password not in result.output
    assert "Traceback" not in result.output


def test_data_dirs_are_private_and_keys_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir(mode=0o755)  # a data dir made by hand beforehand is made private on open
    Platform.open(PlatformConfig(data_dir=data)).close()
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "pki").stat().st_mode & 0o777 == 0o700
    keys = list(data.rglob("*.key"))
    assert keys
    for key in keys:
        assert key.stat().st_mode & 0o777 == 0o600, key


def test_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        platform = Platform.open(
            PlatformConfig(data_dir=tmp_path / "d", console_port=port, agent_port=free_port())
        )
        try:
            with pytest.raises(PlatformError, match=f"cannot listen on 127.0.0.1:{port}: "):
                asyncio.run(platform.serve())
        finally:
            platform.close()
