"""Protect survives a container restart: `podman restart` keeps the container's id but
gives it a new init process and root mount, which the exec guard must mark again."""

from __future__ import annotations

import contextlib

import pytest

from stockade.model import Event, Process
from stockade.model.entities import Container
from stockade.profiles.detector import ProfileDetector
from stockade.profiles.groups import workload_group
from stockade.profiles.modes import GroupState, Mode
from stockade.profiles.profile import Behaviour, Kind, Profile, merged
from stockade.profiles.protection import Protection
from tests.support.podman import Podman

pytestmark = [pytest.mark.root, pytest.mark.podman]
ALLOWED = ("/usr/bin/true", "/usr/bin/sleep")


def _seen(podman: Podman, detector: ProfileDetector, cid: str, image: str) -> Container:
    """The container as the pipeline hands it over: one event of it, judged."""
    pid = int(podman.cmd("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    container = Container(id=cid, name=cid[:12], image_repository=image.split(":")[0], pid=pid)
    proc = Process(pid=pid, exepath="/usr/bin/sleep")
    detector.inspect(Event(type="execve", ts=1, proc=proc, container=container))
    return container


def test_a_restarted_container_is_guarded_again(podman: Podman, tools_image: str) -> None:
    detector = ProfileDetector(clock=lambda: 0)
    protection = Protection(detector)
    with contextlib.closing(protection):
        cid = podman.run_detached(tools_image, "sleep", "600")
        group = workload_group(Container(id=cid, image_repository=tools_image.split(":")[0])).id
        detector.book.set_state(group, GroupState(first_seen_ns=0, process=Mode.PROTECT))
        detector.book.replace(
            merged(Profile(group=group), [Behaviour(Kind.EXEC, p) for p in ALLOWED])
        )
        first = _seen(podman, detector, cid, tools_image)
        assert podman.cmd("exec", cid, "/usr/bin/true").returncode == 0
        assert podman.cmd("exec", cid, "/usr/bin/id", check=False).returncode != 0

        podman.cmd("restart", "-t", "0", cid)
        again = _seen(podman, detector, cid, tools_image)
        assert again.pid != first.pid
        assert protection.guard.init_pids() == {cid: again.pid}  # guarded anew, on its new root
        assert podman.cmd("exec", cid, "/usr/bin/true").returncode == 0
        refused = podman.cmd("exec", cid, "/usr/bin/id", check=False)
        assert refused.returncode != 0 and b"not permitted" in refused.stderr
