"""Image build steps (`podman build` RUN) resolved as containers of type buildah."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from stockade.context import ContainerResolver
from stockade.context.buildah import BuildahRuntime
from stockade.context.podman import PodmanRuntime
from stockade.sensor import procfs
from tests.support.ci import require
from tests.support.podman import BASE_FLAGS, RUN_FLAGS, Podman
from tests.support.polling import poll_until

RUNC = Path("/run/runc")
STORAGE = Path("/var/lib/containers/storage/overlay-containers")


def _step_pid(marker: str) -> int | None:
    """The init pid of the running build step whose command names `marker`."""
    for state_file in RUNC.glob("buildah-buildah*/state.json"):
        try:
            pid = int(json.loads(state_file.read_text())["init_process_pid"])
            if marker in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                return pid
        except (OSError, ValueError, KeyError):
            continue
    return None


def test_cgroup_of_a_build_step() -> None:
    runtime = BuildahRuntime()
    assert runtime.container_id_for_cgroup("/buildah-buildah3157946775") == (
        "buildah-buildah3157946775"
    )
    assert runtime.container_id_for_cgroup("/libpod_parent/libpod-" + "a" * 64) is None
    assert runtime.describe("buildah-buildah0", 1) is None  # no such step: not known


@pytest.mark.podman
def test_a_running_build_step_is_a_buildah_container(
    podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    tag = f"localhost/stockade-test-build-{marker[:8]}:1"
    # the step waits until the test has looked at it (or 60 s pass)
    (tmp_path / "Containerfile").write_text(
        f"FROM {busybox_image}\n"
        f"RUN for i in $(seq 600); do [ -e /tmp/go ] && break; sleep 0.1; done; echo {marker}\n"
    )
    build = subprocess.Popen(
        ["podman", *BASE_FLAGS, "build", "--no-cache", *RUN_FLAGS, "-t", tag, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        pid = poll_until(lambda: _step_pid(marker), 60, "the build step's runc state")
        found = ContainerResolver([PodmanRuntime(), BuildahRuntime()]).for_cgroup(
            procfs.cgroup_id(pid)
        )
        build_state = json.loads((STORAGE / found.id / "userdata" / "buildah.json").read_text())
        assert found.runtime == "buildah" and found.complete
        assert found.id == build_state["container-id"] and len(found.id) == 64
        assert found.name == build_state["container-name"]
        assert found.name.endswith(tuple(f"working-container{s}" for s in ("", "-1", "-2")))
        assert found.image == busybox_image and found.image_id == build_state["image-id"]
        assert found.image_digest.startswith("sha256:")
        assert found.pid == pid and found.start_ts > 0
        # the step's own mount namespace: release it
        subprocess.run(["nsenter", "-t", str(pid), "-m", "touch", "/tmp/go"], check=True)
        out, _ = build.communicate(timeout=120)
        assert build.returncode == 0, out.decode(errors="replace")[-2000:]
    finally:
        if build.poll() is None:
            build.kill()
            build.wait(30)
        podman.cmd("rmi", "-f", tag, check=False)


@pytest.mark.podman
def test_a_buildah_run_step_is_its_working_container(busybox_image: str) -> None:
    buildah = shutil.which("buildah")
    require(buildah, "buildah is not installed (scripts/install-system-deps.sh)")
    assert buildah is not None
    marker = uuid.uuid4().hex
    working = subprocess.run(
        [buildah, "from", busybox_image], check=True, capture_output=True, text=True
    ).stdout.strip()
    step = subprocess.Popen(
        [buildah, "run", "--runtime", "runc", working, "--", "sh", "-c",
         f"for i in $(seq 600); do [ -e /tmp/go ] && break; sleep 0.1; done; echo {marker}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        pid = poll_until(lambda: _step_pid(marker), 60, "the buildah run step's runc state")
        found = ContainerResolver([PodmanRuntime(), BuildahRuntime()]).for_cgroup(
            procfs.cgroup_id(pid)
        )
        assert (found.runtime, found.name, found.image) == ("buildah", working, busybox_image)
        assert found.complete and len(found.id) == 64
        subprocess.run(["nsenter", "-t", str(pid), "-m", "touch", "/tmp/go"], check=True)
        out, _ = step.communicate(timeout=60)
        assert marker in out.decode(errors="replace")
    finally:
        if step.poll() is None:
            step.kill()
            step.wait(30)
        subprocess.run([buildah, "rm", working], check=False, capture_output=True)
