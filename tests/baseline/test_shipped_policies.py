"""The shipped policies: Debian 12 on this machine, and a weakened sshd_config under a test root."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from stockade.baseline.engine import os_release, run_policy
from stockade.baseline.load import BUILTIN_DIR, builtin_policies, load_policy
from stockade.baseline.model import Status
from stockade.baseline.probes import Target
from tests.support.ci import require

HARDENED = """\
Include /etc/ssh/sshd_config.d/*.conf
PermitRootLogin no
PasswordAuthentication no
PermitEmptyPasswords no
X11Forwarding no
MaxAuthTries 3
ClientAliveInterval 300
"""
WEAKENED_CHECKS = {
    "ssh-permit-root-login",
    "ssh-password-authentication",
    "ssh-permit-empty-passwords",
    "ssh-x11-forwarding",
    "ssh-max-auth-tries",
}


def test_shipped_policies_load() -> None:
    assert {p.id for p in builtin_policies()} == {"debian12", "linux"}


def test_debian_policy_runs_on_this_machine() -> None:
    require(os_release(Target("/")).get("VERSION_ID") == "12", "this machine is not Debian 12")
    result = run_policy(load_policy(BUILTIN_DIR / "debian12.yaml"), Target("/"))
    by_id = {r.check_id: r for r in result.results}
    assert len(by_id) >= 30 and by_id["ssh-permit-root-login"].status is not Status.NOT_APPLICABLE
    forward = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
    assert by_id["sysctl-ip-forward"].status is (Status.PASS if forward == "0" else Status.FAIL)
    assert 0 <= result.score <= 100
    assert all(r.evidence for r in result.results)


def _ssh_root(tmp_path: Path, sshd_config: str) -> Target:
    (tmp_path / "etc" / "ssh" / "sshd_config.d").mkdir(parents=True, exist_ok=True)
    shutil.copy("/etc/os-release", tmp_path / "etc" / "os-release")
    config = tmp_path / "etc" / "ssh" / "sshd_config"
    config.write_text(sshd_config)
    config.chmod(0o600)
    return Target(str(tmp_path))


def test_weakened_sshd_config_flips_the_matching_checks(tmp_path: Path) -> None:
    policy = load_policy(BUILTIN_DIR / "debian12.yaml")
    require(os_release(Target("/")).get("VERSION_ID") == "12", "this machine is not Debian 12")
    ssh_only = dataclasses.replace(
        policy, checks=tuple(c for c in policy.checks if c.id.startswith("ssh-"))
    )
    target = _ssh_root(tmp_path, HARDENED)
    before = {r.check_id: r.status for r in run_policy(ssh_only, target).results}
    assert {before[c] for c in WEAKENED_CHECKS} == {Status.PASS}
    weak = HARDENED.replace("PermitRootLogin no", "PermitRootLogin yes")
    weak = weak.replace("MaxAuthTries 3", "MaxAuthTries 10").replace(
        "X11Forwarding no", "X11Forwarding yes"
    )
    (tmp_path / "etc/ssh/sshd_config.d/50-weak.conf").write_text(
        "PasswordAuthentication yes\nPermitEmptyPasswords yes\n"  # read first, as sshd does
    )
    _ssh_root(tmp_path, weak)
    after = {r.check_id: r.status for r in run_policy(ssh_only, target).results}
    assert {c for c, s in after.items() if s is not before[c]} == WEAKENED_CHECKS
    assert {after[c] for c in WEAKENED_CHECKS} == {Status.FAIL}
