"""The container runtime's own processes never trigger Stockade's default rules: real
containers started, exec'd into, stopped and started again under the real sensor."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from stockade.detect.rules import RulesDetector
from stockade.model import Event
from tests.support.live import LivePipeline, alerts_for
from tests.support.podman import BASE_FLAGS, RUN_FLAGS, Podman

pytestmark = [pytest.mark.ebpf, pytest.mark.root, pytest.mark.podman]

BUILT = "localhost/stockade-test-quiet-build:latest"


def _lifecycle(podman: Podman, image: str, shell: str, flags: tuple[str, ...]) -> list[str]:
    """Run to completion, start detached, exec into, stop, start; returns the names.

    The containers are removed by the caller once their events are read: the context
    stage names a container from its metadata, which removal deletes.
    """
    once, kept = (f"stockade-quiet-{uuid.uuid4().hex[:8]}" for _ in range(2))
    podman.cmd("run", "--name", once, *RUN_FLAGS, *flags, image, shell, "-c", "true")
    podman.run_detached(image, "sleep", "300", name=kept, extra=flags)
    podman.exec(kept, shell, "-c", "echo hello > /tmp/greeting")
    podman.cmd("stop", "-t", "0", kept)
    podman.cmd("start", kept)
    return [once, kept]


def _caused_by(marks: set[str], containers: set[str], event: Event) -> bool:
    """In one of `containers`, or on the host by a process whose command line (or an
    ancestor's) names one of them: podman, conmon, runc, the network plugins. Other work
    on the same host is left out."""
    if not event.container.is_host:
        return event.container.id in containers
    lines = [event.proc.argv, *(a.argv for a in event.ancestors)]
    return any(mark in arg for argv in lines for arg in argv for mark in marks)


# Privileged containers get more mounts from the runtime (all devices, writable /sys).
@pytest.mark.parametrize("which", ["busybox", "debian", "debian-privileged"])
def test_container_lifecycle_raises_no_default_alert(
    which: str,
    podman: Podman,
    busybox_image: str,
    debian_image: str,
    live: LivePipeline,
    default_rules: RulesDetector,
) -> None:
    image, shell = (busybox_image, "sh") if which == "busybox" else (debian_image, "bash")
    flags = ("--privileged",) if which.endswith("privileged") else ()
    live.clear()
    names = [name for _ in range(2) for name in _lifecycle(podman, image, shell, flags)]
    containers = {podman.inspect_id(name) for name in names}
    try:
        live.sync()  # their events are named while the containers still exist
    finally:
        for name in names:
            podman.remove(name)
    marks = {*names, *containers}
    events = [e for e in live.sync() if _caused_by(marks, containers, e)]
    assert any(e.proc.name == "conmon" for e in events)
    assert any(e.proc.name == "podman" and "rm" in e.proc.argv for e in events)
    assert {e.container.id for e in events} >= containers
    assert any(e.type == "mount" and e.proc.name.startswith("runc:[") for e in events)
    assert any(e.type == "setns" and not e.container.is_host for e in events)
    assert any(e.type == "execve" and e.proc.name == "sleep" for e in events)
    alerts = alerts_for(default_rules, events)
    assert [(a.rule, a.output) for a in alerts] == [], "\n".join(a.output for a in alerts)


# A real package install: a small .deb built and installed by dpkg (no mirror is reachable).
BUILD = """\
FROM {base}
RUN mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/local/bin \\
 && printf 'Package: probe\\nVersion: 1\\nArchitecture: all\\nMaintainer: t\\nDescription: t\\n' \\
    > /tmp/pkg/DEBIAN/control \\
 && cp /bin/true /tmp/pkg/usr/local/bin/probe \\
 && dpkg-deb --build /tmp/pkg /tmp/probe.deb >/dev/null && dpkg -i /tmp/probe.deb >/dev/null \\
 && apt-get -s install apt >/dev/null && probe
"""


def test_package_install_during_image_build_raises_no_default_alert(
    podman: Podman,
    debian_image: str,
    live: LivePipeline,
    default_rules: RulesDetector,
    tmp_path: Path,
) -> None:
    (tmp_path / "Containerfile").write_text(BUILD.format(base=debian_image))
    live.clear()
    build = subprocess.Popen(
        [
            "podman",
            *BASE_FLAGS,
            "build",
            "--no-cache",
            "--network",
            "none",
            "-t",
            BUILT,
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    assert build.wait(300) == 0
    try:
        events = [
            e
            for e in live.sync()
            if e.proc.pid == build.pid or any(a.pid == build.pid for a in e.ancestors)
        ]
    finally:
        podman.cmd("rmi", "-f", BUILT, check=False)
    assert any(e.type == "execve" and e.proc.name == "apt-get" for e in events)
    assert any(e.type == "execve" and e.proc.exepath == "/usr/local/bin/probe" for e in events)
    alerts = alerts_for(default_rules, events)
    assert [(a.rule, a.output) for a in alerts] == [], "\n".join(a.output for a in alerts)
