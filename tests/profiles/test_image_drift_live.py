"""Drift judged against the container's image on real podman containers, through the exec
guard and the profile detector: a file copied up unchanged runs, one replaced in place
is refused, and a layer file changed beneath every container of the image (no upper
layer shows it) is refused in the next container, or even before any container ran it
when the agent's scan of the image holds its sha256."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import uuid
from pathlib import Path

import msgspec
import pytest

from stockade.agent.image_scan_runner import SubprocessScanner
from stockade.agent.image_scans import ImageScanRequest
from stockade.model.entities import Container
from stockade.profiles.detector import ProfileDetector
from stockade.profiles.groups import workload_group
from stockade.profiles.guard import ExecGuard
from stockade.profiles.imagefiles import ImageFiles, image_file, root_overlay
from stockade.profiles.modes import GroupState, Mode
from stockade.profiles.profile import Behaviour, Kind, Profile, merged
from stockade.profiles.scanned_files import ScannedExecutables
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


def _busybox_pair_image(podman: Podman, base: str, workdir: Path) -> tuple[str, str, str]:
    """`base` plus one layer holding SCANNED_TOOL and SCANNED_OTHER (both busybox, run as
    its `true`); returns the image's name, id and digest."""
    workdir.mkdir()
    busybox = shutil.which("busybox")
    assert busybox is not None
    shutil.copy(busybox, workdir / "tool")
    lines = [f"FROM {base}", f"COPY tool {SCANNED_TOOL}", f"COPY tool {SCANNED_OTHER}"]
    (workdir / "Containerfile").write_text("\n".join(lines) + "\n")
    name = f"localhost/stockade-test-scanned-drift:{uuid.uuid4().hex[:8]}"
    podman.cmd("build", "-t", name, str(workdir), timeout=600)
    found = podman.cmd("image", "inspect", "-f", "{{.Id}} {{.Digest}}", name).stdout.split()
    return name, found[0].decode(), found[1].decode()


SCANNED_TOOL = "/opt/tool/true"
SCANNED_OTHER = "/opt/other/true"


def test_a_layer_file_changed_before_its_first_run_is_drift_against_the_scan(
    podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    """The agent's scan of the image holds the executables' sha256 as the verified layers
    have them: a layer file replaced in place before any container ran it is refused, an
    unchanged one (also once copied up by chmod) runs. Without the scan, the first read
    pins the changed file as the image's."""
    image, image_id, digest = _busybox_pair_image(podman, busybox_image, tmp_path / "build")
    image_files = tmp_path / "image-files"
    request = ImageScanRequest(digest, image_id, image, container_id="", runtime="podman")
    SubprocessScanner(tmp_path / "scan-cache", None, image_files).scan(request)
    scanned = ScannedExecutables(image_files)
    assert set(scanned.get(digest) or {}) >= {SCANNED_TOOL, SCANNED_OTHER, "/bin/busybox"}

    detector = ProfileDetector()
    detector.image_files = ImageFiles(scanned)
    refused: list[str] = []
    guard = ExecGuard(detector.verdict, lambda _cid, path, _v: refused.append(path))
    try:
        container = _start(podman, detector, image)
        container = msgspec.structs.replace(container, image_digest=digest)
        detector.containers[container.id] = container
        layer_file = image_file(root_overlay(container.pid).lowerdirs, SCANNED_TOOL)
        assert layer_file is not None
        Path(layer_file).write_bytes(Path(layer_file).read_bytes() + b"\0changed in place")

        unscanned = ProfileDetector()
        unscanned.image_files = ImageFiles()
        pinned = unscanned.image_files.sha256(container.id, container.pid, SCANNED_TOOL)
        assert pinned == "sha256:" + hashlib.sha256(Path(layer_file).read_bytes()).hexdigest()

        group = workload_group(container).id
        detector.book.set_state(group, GroupState(first_seen_ns=0, process=Mode.PROTECT))
        allowed = (SCANNED_TOOL, SCANNED_OTHER, "/bin/busybox", "/bin/sleep")
        detector.book.replace(
            merged(Profile(group=group), [Behaviour(Kind.EXEC, p) for p in allowed])
        )
        guard.protect(container.id, container.pid)
        assert podman.cmd("exec", container.id, SCANNED_OTHER).returncode == 0
        podman.exec(container.id, "/bin/chmod", "755", SCANNED_OTHER)  # copied up, unchanged
        assert podman.cmd("exec", container.id, SCANNED_OTHER).returncode == 0
        assert refused == []
        assert podman.cmd("exec", container.id, SCANNED_TOOL, check=False).returncode != 0
        assert refused == [SCANNED_TOOL]
    finally:
        guard.close()
        podman.remove_started()
        subprocess.run(["podman", "rmi", "-f", image], check=False, capture_output=True)
