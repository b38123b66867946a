"""The systemd units in deploy/systemd: valid for systemd, hardened as each allows."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ci import require
from tests.support.cli_options import WORKER_PENDING, unknown_options

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
INSTALLED = "/opt/stockade/bin/stockade"  # where docs/deploy.md installs the command
PLATFORM_UNITS = ("stockade-platform.service", "stockade-worker.service")
# what `systemd-analyze security` may still find exposed: the agent is root with the
# capabilities of an eBPF sensor; the platform has none
MAX_EXPOSURE = {"stockade-agent.service": 7.0, **dict.fromkeys(PLATFORM_UNITS, 2.0)}


def _service(unit: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(UNITS / unit)
    return parser["Service"]


def _local_copy(unit: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this install's `stockade` (verify runs it)."""
    stockade = shutil.which("stockade") or str(Path(sys.executable).parent / "stockade")
    copy = tmp_path / unit
    copy.write_text((UNITS / unit).read_text().replace(INSTALLED, stockade))
    return copy


def test_every_unit_is_listed() -> None:
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(MAX_EXPOSURE)


@pytest.mark.parametrize("unit", sorted(MAX_EXPOSURE))
def test_systemd_accepts_the_unit(unit: str, tmp_path: Path) -> None:
    require(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    copy = _local_copy(unit, tmp_path)
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
    # unknown keys and bad values are only warnings: none allowed
    assert verified.stderr.strip() == "", verified.stderr


@pytest.mark.parametrize("unit", sorted(MAX_EXPOSURE))
def test_unit_is_as_hardened_as_it_allows(unit: str, tmp_path: Path) -> None:
    require(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    copy = _local_copy(unit, tmp_path)
    answer = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
    )
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+)", answer.stdout + answer.stderr)
    assert found is not None, answer.stdout + answer.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE[unit], answer.stdout


@pytest.mark.parametrize("unit", PLATFORM_UNITS)
def test_platform_units_hold_no_privilege(unit: str) -> None:
    service = _service(unit)
    assert service["DynamicUser"] == "yes"
    assert service["CapabilityBoundingSet"] == ""
    assert service["ProtectSystem"] == "strict"
    assert service["StateDirectory"] == "stockade"
    assert service["NoNewPrivileges"] == "yes"


def test_agent_unit_keeps_only_the_sensors_capabilities() -> None:
    service = _service("stockade-agent.service")
    capabilities = set(service["CapabilityBoundingSet"].split())
    assert {"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN"} <= capabilities
    assert not capabilities & {"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_BOOT", "CAP_MKNOD"}
    assert service["NoNewPrivileges"] == "yes"
    assert service["StateDirectory"] == "stockade/agent"


@pytest.mark.parametrize(
    "unit",
    [
        "stockade-agent.service",
        "stockade-platform.service",
        pytest.param("stockade-worker.service", marks=WORKER_PENDING),
    ],
)
def test_unit_runs_a_real_command_with_real_options(unit: str) -> None:
    program, subcommand, *args = shlex.split(_service(unit)["ExecStart"])
    assert program == INSTALLED
    assert unknown_options((subcommand,), args) == []
