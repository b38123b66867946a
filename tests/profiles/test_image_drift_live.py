"""Drift judged against the container's image on real podman containers, through the exec
guard and the profile detector: a file copied up unchanged runs, one replaced in place
is refused, and a layer file changed beneath every container of the image (no upper
layer shows it) is refused in the next container."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from stockade.model.entities import Container
from stockade.profiles.detector import ProfileDetector
from stockade.profiles.groups import workload_group
from stockade.profiles.guard import ExecGuard
from stockade.profiles.imagefiles import ImageFiles, image_file, root_overlay
from stockade.profiles.modes import GroupState, Mode
from stockade.profiles.profile import Behaviour, Kind, Profile, merged
from tests.support.podman import Podman

pytestmark = [pytest.mark.root, pytest.mark.podman]
TOOL = "/usr/local/bin/stockade-tool"
ALLOWED = ("/usr/bin/true", "/usr/bin/touch", "/usr/bin/id", "/usr/bin/cp", TOOL)


def _own_image(podman: Podman, base: str, workdir: Path) -> str:
    """`base` plus one layer holding TOOL (a copy of /usr/bin/id): a layer this test may
    change without touching any image another test uses."""
    workdir.mkdir()
    shutil.copy("/usr/bin/id", workdir / "stockade-tool")
    (workdir / "Containerfile").write_text(f"FROM {base}\nCOPY stockade-tool {TOOL}\n")
    name = f"localhost/stockade-test-drift:{uuid.uuid4().hex[:8]}"
    podman.cmd("build", "-t", name, str(workdir), timeout=600)
    return name


def _start(podman: Podman, detector: ProfileDetector, image: str) -> Container:
    cid = podman.run_detached(image, "sleep", "600")
    pid = int(podman.cmd("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    container = Container(id=cid, name=cid[:12], image_repository=image.split(":")[0], pid=pid)
    detector.containers[cid] = container
    return container


def test_drift_is_judged_against_the_image_files(
    podman: Podman, tools_image: str, tmp_path: Path
) -> None:
    image = _own_image(podman, tools_image, tmp_path / "build")
    detector = ProfileDetector()
    detector.image_files = ImageFiles()
    refused: list[str] = []
    guard = ExecGuard(detector.verdict, lambda _cid, path, _v: refused.append(path))
    try:
        first = _start(podman, detector, image)
        group = workload_group(first).id
        detector.book.set_state(group, GroupState(first_seen_ns=0, process=Mode.PROTECT))
        detector.book.replace(
            merged(Profile(group=group), [Behaviour(Kind.EXEC, p) for p in ALLOWED])
        )
        guard.protect(first.id, first.pid)

        assert podman.cmd("exec", first.id, TOOL).returncode == 0  # the image's own file
        podman.exec(first.id, "/usr/bin/touch", "/usr/bin/true")  # copied up, unchanged
        assert podman.cmd("exec", first.id, "/usr/bin/true").returncode == 0
        assert refused == []
        podman.exec(first.id, "/usr/bin/cp", "/usr/bin/true", "/usr/bin/id")  # replaced
        assert podman.cmd("exec", first.id, "/usr/bin/id", check=False).returncode != 0
        assert refused == ["/usr/bin/id"]

        # The image's layer file itself changes in place: no upper layer holds it.
        layer_file = image_file(root_overlay(first.pid).lowerdirs, TOOL)
        assert layer_file is not None
        Path(layer_file).write_bytes(Path("/usr/bin/true").read_bytes())
        second = _start(podman, detector, image)
        guard.protect(second.id, second.pid)
        assert podman.cmd("exec", second.id, TOOL, check=False).returncode != 0
        assert refused == ["/usr/bin/id", TOOL]
    finally:
        guard.close()
        podman.remove_started()
        subprocess.run(["podman", "rmi", "-f", image], check=False, capture_output=True)
