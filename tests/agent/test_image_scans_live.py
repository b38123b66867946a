"""A real agent scans the image of a new podman container once, and not for a second one,
keeping the image's executables' sha256 for its drift checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.agent import Agent, AgentConfig
from stockade.profiles.scanned_files import IMAGE_FILES_DIR, file_of
from tests.support.agent_runner import AgentRunner
from tests.support.platform_runner import PlatformRunner
from tests.support.podman import Podman
from tests.support.polling import poll_until


def exec_in(podman: Podman, container: str) -> None:
    """An exec in the running container: an event once its metadata is complete."""
    podman.exec(container, "true", check=False)


@pytest.mark.root
@pytest.mark.podman
@pytest.mark.server
def test_one_scan_per_image_digest(
    platform: PlatformRunner, podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    digest = podman.cmd("image", "inspect", "--format", "{{.Digest}}", busybox_image)
    digest_text = digest.stdout.decode().strip()
    agent = Agent(
        AgentConfig(
            tmp_path / "agent", platform.agent_url, platform.token(), platform.ca_fingerprint
        )
    )
    with AgentRunner(agent):
        scans = agent.image_scans
        assert scans is not None
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
    assert scans.scanned.count(digest_text) == 1 and scans.failed == 0
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
