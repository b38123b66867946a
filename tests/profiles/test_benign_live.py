"""Profiles as a default detector raise nothing on normal container life (real eBPF agent
with its default detectors, real platform, real podman): a package installed and run while
the group discovers, then run again in monitor; the container restarted and a second one
of the group started in monitor (the runtime's own processes) are all quiet; only a marker
exec that is really new is alerted."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockade.agent import Agent
from stockade.profiles.detector import DEVIATION_RULE, DRIFT_RULE, ProfileDetector
from stockade.profiles.groups import GROUP_LABEL, GroupId
from stockade.profiles.modes import Mode
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

pytestmark = [pytest.mark.root, pytest.mark.podman, pytest.mark.server, pytest.mark.ebpf]
GROUP_NAME = "profile-benign"
TOOL = "/usr/local/bin/stockade-hello"
AGENT_WAIT_S = 120.0  # the agent judging kernel events may be a minute behind on a busy host


def _package(workdir: Path) -> Path:
    """A Debian package installing TOOL (a copy of this host's /usr/bin/true)."""
    root = workdir / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(
        "Package: stockade-hello\nVersion: 1.0\nArchitecture: all\n"
        "Maintainer: tests <tests@example.invalid>\nDescription: a test package\n"
    )
    (root / TOOL.lstrip("/")).parent.mkdir(parents=True)
    shutil.copy("/usr/bin/true", root / TOOL.lstrip("/"))
    deb = workdir / "stockade-hello.deb"
    subprocess.run(["dpkg-deb", "--build", str(root), str(deb)], check=True, capture_output=True)
    return deb


def _profile_alerts(admin: httpx.Client, group: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for rule in (DEVIATION_RULE, DRIFT_RULE):
        items = admin.get("/api/v1/alerts", params={"rule": rule}).json()["items"]
        found += [a for a in items if a["output_fields"].get("profile.group") == group]
    return found


def _group_id(admin: httpx.Client, name: str) -> str:
    found = [g["id"] for g in admin.get("/api/v1/groups").json() if g["name"] == name]
    return str(found[0]) if found else ""


def _executables(admin: httpx.Client, group: str) -> set[str]:
    answer = admin.get(f"/api/v1/profiles/{group}")
    if answer.status_code != 200:
        return set()
    return set(answer.json()["items"].get("executables", []))


def test_package_installs_and_container_starts_raise_nothing(
    podman: Podman, tools_image: str, tmp_path: Path
) -> None:
    platform = PlatformRunner(tmp_path / "platform").start()
    config = platform.agent_config(tmp_path / "agent")
    label = ("--label", f"{GROUP_LABEL}={GROUP_NAME}")
    try:
        with AgentRunner(Agent(config)) as runner, contextlib.closing(platform.login()) as admin:
            [detector] = [d for d in runner.agent.detectors if isinstance(d, ProfileDetector)]
            app = podman.run_detached(tools_image, "sleep", "600", extra=label)
            podman.cmd("cp", str(_package(tmp_path)), f"{app}:/tmp/stockade-hello.deb")
            podman.exec(app, "dpkg", "-i", "/tmp/stockade-hello.deb")
            podman.exec(app, TOOL)
            gid = poll_value(lambda: _group_id(admin, GROUP_NAME), bool, AGENT_WAIT_S, "the group")
            poll_value(lambda: _executables(admin, gid), lambda found: TOOL in found,
                       AGENT_WAIT_S, "the installed package learned")  # fmt: skip
            answer = admin.put(f"/api/v1/groups/{gid}/mode",
                               json={"process": "monitor", "network": "monitor"})  # fmt: skip
            assert answer.status_code == 200, answer.text
            poll_until(lambda: detector.book.modes(GroupId(gid), 0).process is Mode.MONITOR,
                       15, "monitor on the agent")  # fmt: skip

            podman.exec(app, TOOL)  # installed while discovering: on the upper layer, learned
            podman.cmd("restart", "-t", "0", app)  # the runtime starts it again
            podman.exec(app, TOOL)
            podman.run_detached(tools_image, "sleep", "600", extra=label)  # one more of the group
            podman.exec(app, "id")  # a marker: once its alert is stored, everything before is
            marker = poll_value(lambda: _profile_alerts(admin, gid), bool, AGENT_WAIT_S,
                                "the marker's alert")  # fmt: skip
            assert [a["output_fields"]["profile.new"] for a in marker] == ["/usr/bin/id"], [
                a["output"] for a in marker
            ]
    finally:
        platform.stop()
