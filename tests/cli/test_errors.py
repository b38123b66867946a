"""A user's mistake gets one line, `stockade: error: <what and where>`, never a traceback.

Each case is one a new user ran into; usage and input errors exit 2.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from stockade.cli.datadir import platform_dir
from stockade.cli.main import app, report
from stockade.errors import UsageError
from tests.support.agent_client import TestAgent
from tests.support.platform_runner import PlatformRunner

RUNNER = CliRunner()
DOCTOR_AS_NOBODY = """
import os
from typer.testing import CliRunner
from stockade.cli.main import app, report
from stockade.errors import UsageError
CliRunner().invoke(app, ["doctor"])  # as root first: loads every module the command needs
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
app(["doctor"], prog_name="stockade")
"""


def stockade(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real `stockade` entry point in a child process."""
    command = [sys.executable, "-m", "stockade.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def one_line(stderr: str) -> str:
    """The only line of `stderr`, which must be a Stockade error."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("stockade: error: "), lines[0]
    return lines[0].removeprefix("stockade: error: ")


def usage_error(result: Result) -> str:
    """The message of a CliRunner result that exited 2 with one error line."""
    assert result.exit_code == 2, result.output
    return one_line(result.stderr)


def test_scan_with_a_missing_database_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    done = stockade("scan", "fs", str(tmp_path), "--no-cache", "--db", str(missing))
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(f"no vulnerability database at {missing}: run ")


def test_scan_without_a_database_fails_unless_vulnerabilities_are_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no default database there
    (tmp_path / "app").mkdir()
    result = RUNNER.invoke(app, ["scan", "fs", str(tmp_path / "app"), "--no-cache"])
    message = usage_error(result)
    assert "vulnerability scanning needs a database" in message
    assert "--scanners pkg,secret,misconfig" in message
    left_out = ["--scanners", "pkg,secret,misconfig", "-f", "json"]
    result = RUNNER.invoke(app, ["scan", "fs", str(tmp_path / "app"), "--no-cache", *left_out])
    assert result.exit_code == 0, result.output


def test_db_import_of_a_path_without_advisories_fails(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "config.json").write_text('{"name": "not an advisory"}')
    database = tmp_path / "v.sqlite"
    result = RUNNER.invoke(app, ["db", "import", str(tmp_path / "notes"), "--db", str(database)])
    message = usage_error(result)
    assert message.startswith(f"no advisories in {tmp_path / 'notes'}: 1 JSON or YAML files")
    assert "config.json: not a known advisory format" in message


def test_up_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = stockade("up", "--data-dir", str(tmp_path), "--port", str(port))
    assert done.returncode == 1
    assert one_line(done.stderr).startswith(f"cannot listen on 127.0.0.1:{port}: ")


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["up", "--port", "0"], "the command line (server.port): server.port: Expected `int` >= 1"),
        (["up", "--port", "65535"], "the agents' port (--port + 1) 65536: choose a port"),
        (["server", "--port", "0"], "the command line (server.port): server.port: Expected"),
        (["server", "--agent-port", "70000"], "the command line (server.agent_port): server"),
    ],
    ids=["up-0", "up-last", "server-0", "server-agent-port"],
)
def test_ports_out_of_range_are_refused(tmp_path: Path, args: list[str], wanted: str) -> None:
    data_root = tmp_path / "data"
    result = RUNNER.invoke(app, [*args, "--data-dir", str(data_root)])
    assert usage_error(result).startswith(wanted)
    assert not data_root.exists()  # refused before anything was written


@pytest.mark.root
def test_doctor_as_an_unprivileged_user_says_what_it_cannot_check() -> None:
    done = subprocess.run(
        [sys.executable, "-c", DOCTOR_AS_NOBODY], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr  # 1: no event source usable without root
    assert "event source the agent will use:" in done.stdout
    assert "needs root" in done.stdout


@pytest.mark.server
def test_token_create_writes_to_the_database_up_serves(tmp_path: Path) -> None:
    """`up --data-dir D` serves D/platform; a token made with `--data-dir D` must work there."""
    running = PlatformRunner(platform_dir(tmp_path)).start()
    try:
        result = RUNNER.invoke(app, ["token", "create", "--data-dir", str(tmp_path)])
        assert result.exit_code == 0, result.output
        token = result.stdout.strip()
        agent = TestAgent.enroll(running.agent_url, running.platform.ca_pem, token, tmp_path)
        agent.client.close()
    finally:
        running.stop()


def test_a_platform_dir_given_as_data_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stockade.db").write_bytes(b"")  # the state of a platform, directly here
    result = RUNNER.invoke(app, ["token", "create", "--data-dir", str(tmp_path)])
    message = usage_error(result)
    assert message.startswith(f"{tmp_path} holds a platform's state directly")
    assert str(tmp_path / "platform") in message


def test_watch_takes_falcos_output_option_as_a_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    capture = tmp_path / "empty.jsonl"
    capture.write_text("")
    result = RUNNER.invoke(app, ["watch", "-o", "json_output=true", "--replay", str(capture)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "json_output=true").exists()
    message = usage_error(RUNNER.invoke(app, ["watch", "-o", "json_outptu=1", "--replay", "x"]))
    assert message == "-o json_outptu=1: unknown key json_outptu"
    meant = RUNNER.invoke(app, ["watch", "-o", "./json_output=true", "--replay", str(capture)])
    assert meant.exit_code == 0, meant.output
    assert (tmp_path / "json_output=true").is_file()


def test_watch_names_a_missing_or_bad_capture(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    message = usage_error(RUNNER.invoke(app, ["watch", "--replay", str(missing)]))
    assert message == f"cannot read capture {missing}: No such file or directory"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": 3}\n')
    message = usage_error(RUNNER.invoke(app, ["watch", "--replay", str(bad)]))
    assert message.startswith(f"{bad}:1: ")


def test_scan_report_into_a_missing_directory_is_refused_before_scanning(tmp_path: Path) -> None:
    report = tmp_path / "no-such-dir" / "report.json"
    args = ["scan", "fs", str(tmp_path), "--scanners", "pkg", "-f", "json", "-o", str(report)]
    message = usage_error(RUNNER.invoke(app, args))
    assert message == f"cannot write the report to {report}: no such directory"


def test_an_archive_that_is_not_tar_is_one_line(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    archive.write_text("not a tar archive\n")
    args = ["scan", "image", f"oci-archive:{archive}", "--scanners", "pkg", "--no-cache"]
    message = usage_error(RUNNER.invoke(app, args))
    assert message.startswith(f"{archive}: not a readable tar archive (")


def test_scan_with_an_empty_database_fails(tmp_path: Path) -> None:
    """A failed `db import` leaves an empty database: scanning with it must not pass."""
    database = tmp_path / "v.sqlite"
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "config.json").write_text("{}")
    failed = RUNNER.invoke(app, ["db", "import", str(tmp_path / "notes"), "--db", str(database)])
    assert failed.exit_code == 2 and database.is_file()
    result = RUNNER.invoke(app, ["scan", "fs", str(tmp_path), "--no-cache", "--db", str(database)])
    assert usage_error(result) == (
        f"vulnerability database {database} holds no advisories: "
        f"run `stockade db import PATH --db {database}`"
    )


def test_a_message_of_several_lines_is_printed_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as stopped:
        report(UsageError("podman said:\n  Error: image not known\n"))
    assert stopped.value.exit_code == 2
    assert capsys.readouterr().err == "stockade: error: podman said: Error: image not known\n"


def test_a_bad_response_policy_stops_the_agent_in_one_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("policies: [{name: a, actions: [explode]}]\n")
    done = stockade(
        "agent",
        "--policy",
        str(policy),
        "--state-dir",
        str(tmp_path / "agent"),
        "--server",
        "https://127.0.0.1:1",
    )
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(
        f"policy file {policy}: `$.policies[0]` ('a'): unknown response action 'explode'"
    )
