"""`stockade baseline check`: failing checks first with their fix, exit 1 on failures, and a
malformed policy as one line naming the file and place."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from stockade.cli.main import app

POLICY = """policy: {id: t, name: Test}
checks:
  - id: root-login
    title: root cannot log in
    remediation: Set PermitRootLogin no
    tests: [{file: /etc/ssh/sshd_config, value: '^PermitRootLogin\\s+(\\S+)', equals: "no"}]
"""


def test_failing_check_is_listed_with_its_fix(tmp_path: Path) -> None:
    (tmp_path / "root" / "etc" / "ssh").mkdir(parents=True)
    (tmp_path / "root" / "etc" / "ssh" / "sshd_config").write_text("PermitRootLogin yes\n")
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    args = ["baseline", "check", "--policy", str(policy), "--root", str(tmp_path / "root")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "score 0.0%" in result.output and "fix: Set PermitRootLogin no" in result.output


def test_malformed_policy_is_one_line(tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text(POLICY.replace("equals:", "equalz:"))
    result = CliRunner().invoke(app, ["baseline", "check", "--policy", str(policy)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"{policy}:6:13: unknown key 'equalz'" in lines[0]
