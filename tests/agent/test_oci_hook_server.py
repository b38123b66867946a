"""What the agent answers a hook request: guarded only when the group is in protect and
the container's rootfs can be marked; a container no runtime knows is none of its business."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.agent.oci_hook_server import GuardAtCreate, HookRequest
from stockade.context.runtime import ContainerRuntime
from stockade.model.entities import Container
from stockade.profiles.detector import ProfileDetector
from stockade.profiles.groups import GROUP_LABEL, group_id
from stockade.profiles.modes import GroupState, Mode
from stockade.profiles.protection import Protection

pytestmark = [pytest.mark.root]  # the exec guard's fanotify group needs CAP_SYS_ADMIN
KNOWN = Container(id="a" * 64, name="web", labels={GROUP_LABEL: "hook-unit"})


class OneContainerRuntime(ContainerRuntime):
    """A runtime that knows one container (podman's metadata, in a real agent)."""

    id = "one"

    def unavailable_reason(self) -> str | None:
        """Always available."""
        return None

    def container_id_for_cgroup(self, cgroup_path: str) -> str | None:
        """None: no cgroups here."""
        del cgroup_path
        return None

    def describe(self, container_id: str, cgroup_id: int) -> Container | None:
        """The one container, by id."""
        del cgroup_id
        return KNOWN if container_id == KNOWN.id else None


@pytest.fixture
def protection() -> Iterator[Protection]:
    """A real Protection (its fanotify group) over a fresh detector."""
    with contextlib.closing(Protection(ProfileDetector(clock=lambda: 0))) as made:
        yield made


def _ended_pid() -> int:
    """The pid of a process that ran and was reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def _bundle(tmp_path: Path, rootfs: Path) -> Path:
    (tmp_path / "config.json").write_text(json.dumps({"root": {"path": str(rootfs)}}))
    return tmp_path


@pytest.fixture
def overlays(tmp_path: Path) -> Iterator[list[Path]]:
    """Two overlays mounted for this test alone (rootfs: each superblock is its own)."""
    merged = []
    for rootfs in ("one", "two"):
        base = tmp_path / rootfs
        for name in ("lower", "upper", "work", "merged"):
            (base / name).mkdir(parents=True)
        options = f"lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work"
        mount = ["mount", "-t", "overlay", "overlay", "-o", options, str(base / "merged")]
        subprocess.run(mount, check=True, capture_output=True)
        merged.append(base / "merged")
    try:
        yield merged
    finally:
        for path in merged:
            subprocess.run(["umount", str(path)], check=False, capture_output=True)


def test_only_a_protected_groups_known_container_is_guarded(
    protection: Protection, tmp_path: Path, overlays: list[Path]
) -> None:
    answer = GuardAtCreate(protection, [OneContainerRuntime()])
    bundle = _bundle(tmp_path, overlays[0])
    assert answer(HookRequest("b" * 64, 7, bundle)) == {"ok": True, "guarded": False}
    assert answer(HookRequest(KNOWN.id, 7, bundle)) == {"ok": True, "guarded": False}

    detector = protection._detector  # noqa: SLF001 - the one the agent shares with it
    state = GroupState(first_seen_ns=0, process=Mode.PROTECT)
    detector.book.set_state(group_id(KNOWN), state)
    stopped = _ended_pid()
    assert answer(HookRequest(KNOWN.id, stopped, bundle)) == {"ok": True, "guarded": True}
    assert protection.guard.init_pids() == {KNOWN.id: stopped}
    assert detector.containers[KNOWN.id].pid == stopped  # the guard's verdicts find it
    protection.guard.protect_rootfs("another", os.getpid(), overlays[1])
    assert protection.guard.init_pids() == {"another": os.getpid()}  # the stopped one forgotten

    missing = answer(HookRequest(KNOWN.id, 8, _bundle(tmp_path, tmp_path / "gone")))
    assert missing["ok"] is False and "gone" in missing["error"]
    # a plain directory: its superblock is the host's, whose execs must never be judged
    plain = answer(HookRequest(KNOWN.id, 9, _bundle(tmp_path, tmp_path / "one" / "lower")))
    assert plain == {"ok": False, "error": f"{tmp_path}/one/lower is no overlay mounted for the "
                     "container alone"}  # fmt: skip
