"""An image build's RUN step is a container of type buildah, and the default rules about
running containers leave it out: the same drift that alerts in a running container
(a binary written and then executed) is what a build does by design."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from stockade.detect.rules import RulesDetector
from stockade.model import Event
from tests.support.live import LivePipeline, alerts_for
from tests.support.podman import BASE_FLAGS, RUN_FLAGS, Podman

# busybox runs the applet its file is named after: the dropped copy is named echo
DRIFT = (
    "/bin/busybox mkdir /tmp/{marker} && /bin/busybox cp /bin/busybox /tmp/{marker}/echo"
    " && /tmp/{marker}/echo {marker}"
)


def _dropped(marker: str) -> Callable[[Event], bool]:
    def match(e: Event) -> bool:
        return e.type == "execve" and e.proc.exepath == f"/tmp/{marker}/echo"

    return match


def test_build_step_is_attributed_and_quiet(
    podman: Podman,
    busybox_image: str,
    live: LivePipeline,
    default_rules: RulesDetector,
    tmp_path: Path,
) -> None:
    marker = uuid.uuid4().hex[:12]
    tag = f"localhost/stockade-test-build-{marker}:1"
    # the step lives on a few seconds: a loaded machine may read the exec's context after a
    # step this short is gone, and a step gone before the sensor reads its runtime state
    # cannot be described (it is then marked incomplete)
    (tmp_path / "Containerfile").write_text(
        f"FROM {busybox_image}\nRUN {DRIFT.format(marker=marker)} && /bin/busybox sleep 5\n"
    )
    live.clear()
    try:
        subprocess.run(
            ["podman", *BASE_FLAGS, "build", "--no-cache", *RUN_FLAGS, "-t", tag, str(tmp_path)],
            check=True,
            capture_output=True,
            timeout=180,
        )
        in_build = live.wait_for(_dropped(marker), "the build step's exec of its dropped binary")
    finally:
        podman.cmd("rmi", "-f", tag, check=False)
    step = in_build[0].container
    assert (step.runtime, step.image) == ("buildah", busybox_image)
    assert len(step.id) == 64 and "working-container" in step.name
    assert alerts_for(default_rules, live.sync(), step.id) == []

    # the attack twin: the same drift in a running container alerts
    live.clear()
    cid = podman.run_detached(busybox_image, "sh", "-c", DRIFT.format(marker=marker))
    try:
        live.wait_for(_dropped(marker), "the container's exec of its dropped binary")
        fired = {a.rule for a in alerts_for(default_rules, live.sync(), cid)}
    finally:
        podman.remove(cid)
    assert "Drifted binary executed in container" in fired
