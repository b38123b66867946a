"""A real agent scans the image of a new podman container once, and not for a second one,
keeping the image's executables' sha256 for its drift checks; an image whose layer binary
was replaced on disk fails podman's integrity check, which reaches the platform as one
Critical alert through the agent's alert path."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from stockade.agent import Agent
from stockade.agent.image_integrity import INTEGRITY_RULE
from stockade.profiles.imagefiles import image_file, root_overlay
from stockade.profiles.scanned_files import IMAGE_FILES_DIR, file_of
from stockade.profiles.tampered_images import marker_of
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until, poll_value

TOOL = "/opt/tampered/true"


def exec_in(podman: Podman, container: str) -> None:
    """An exec in the running container: an event once its metadata is complete."""
    podman.exec(container, "true", check=False)


def tampered_image(podman: Podman, base: str, workdir: Path) -> tuple[str, str, str]:
    """`base` plus a layer of its own holding TOOL (busybox) and a unique marker, with TOOL
    then replaced in place in that layer on disk; returns the image, its digest and a
    running container of it."""
    busybox = shutil.which("busybox")
    assert busybox is not None
    (workdir / "tampered").mkdir(parents=True)
    shutil.copy(busybox, workdir / "tampered" / "true")
    (workdir / "tampered" / "marker").write_text(uuid.uuid4().hex)
    (workdir / "Containerfile").write_text(f"FROM {base}\nCOPY tampered /opt/tampered/\n")
    image = f"localhost/stockade-test-tampered:{uuid.uuid4().hex[:8]}"
    podman.cmd("build", "-t", image, str(workdir), timeout=600)
    digest = podman.cmd("image", "inspect", "-f", "{{.Digest}}", image).stdout.decode().strip()
    cid = podman.run_detached(image, "sleep", "120")
    pid = int(podman.cmd("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    layer_file = image_file(root_overlay(pid).lowerdirs, TOOL)
    assert layer_file is not None
    Path(layer_file).write_bytes(Path(layer_file).read_bytes() + b"\0changed in place")
    return image, digest, cid


def integrity_alerts(platform: PlatformRunner) -> list[dict[str, Any]]:
    """The integrity alerts the platform holds, from its API."""
    with contextlib.closing(platform.login()) as admin:
        found = admin.get("/api/v1/alerts", params={"rule": INTEGRITY_RULE})
    found.raise_for_status()
    items: list[dict[str, Any]] = found.json()["items"]
    return items


@pytest.mark.root
@pytest.mark.podman
@pytest.mark.server
def test_one_scan_per_image_digest_and_an_alert_for_a_tampered_one(
    platform: PlatformRunner, podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    digest = podman.cmd("image", "inspect", "--format", "{{.Digest}}", busybox_image)
    digest_text = digest.stdout.decode().strip()
    agent = Agent(platform.agent_config(tmp_path / "agent", scan_images=True))
    tampered, tampered_digest, tampered_cid = tampered_image(
        podman, busybox_image, tmp_path / "build"
    )
    try:
        _run_agent(agent, podman, busybox_image, digest_text, tampered_digest, tampered_cid)
        [alert] = poll_value(
            lambda: integrity_alerts(platform), bool, 30, "the integrity alert on the platform"
        )
    finally:
        podman.remove_started()
        subprocess.run(["podman", "rmi", "-f", tampered], check=False, capture_output=True)
    assert alert["priority"] == "Critical", alert
    assert alert["output_fields"]["image.tampered_file"] == TOOL, alert
    assert tampered_cid in alert["output_fields"]["container.ids"], alert
    marker = marker_of(tmp_path / "agent" / IMAGE_FILES_DIR, tampered_digest)
    assert marker is not None and marker.read_text() == TOOL  # for the drift check
    scans = agent.image_scans
    assert scans is not None and scans.tampered == [tampered_digest]
    assert scans.scanned.count(digest_text) == 1 and scans.failed == 1
    assert digest_text in (tmp_path / "agent" / "scanned-images").read_text().split()
    listed = file_of(tmp_path / "agent" / IMAGE_FILES_DIR, digest_text)  # for drift checks
    assert listed is not None and listed.exists()
    platform.stop()
    with platform.stored() as store:
        stored = store.get_scan(digest_text)
    assert stored is not None
    assert stored.image.agent_id == agent.agent_id
    assert stored.image.names == (busybox_image,)
    assert {f.id for f in stored.result.findings} >= {"STK-IMG-0001"}  # runs as root
    platform.start()


def _run_agent(
    agent: Agent,
    podman: Podman,
    busybox_image: str,
    digest_text: str,
    tampered_digest: str,
    tampered_cid: str,
) -> None:
    """Run the agent until it scanned the busybox image once for two containers and
    found the tampered image's layer changed."""
    with AgentRunner(agent):
        scans = agent.image_scans
        assert scans is not None

        def tampered_found() -> bool:
            exec_in(podman, tampered_cid)
            return tampered_digest in scans.tampered

        poll_until(tampered_found, 60, f"the integrity failure of {tampered_digest}", interval=0.2)
        first = podman.run_detached(busybox_image, "sleep", "60")

        def first_scanned() -> bool:
            exec_in(podman, first)
            return digest_text in scans.scanned

        poll_until(first_scanned, 60, f"a scan of {digest_text}", interval=0.2)
        second = podman.run_detached(busybox_image, "sleep", "60")
        for _ in range(3):  # execs the pipeline sees with complete metadata
            exec_in(podman, second)
        poll_until(scans.idle, 30, "the image scanner to be idle")
        podman.remove(first)
        podman.remove(second)
