"""A real agent scans the image of a new podman container once, and not for a second one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stockade.agent import Agent, AgentConfig
from stockade.platform.store import SqliteStore
from tests.agent.conftest import PlatformThread
from tests.support.podman import Podman


def wait_for(
    predicate: Callable[[], bool], timeout: float, poke: Callable[[], object] = lambda: None
) -> bool:
    """Call `poke` until `predicate` holds or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        poke()
        time.sleep(0.2)
    return True


def exec_in(podman: Podman, container: str) -> Callable[[], object]:
    """An exec in the running container: an event once its metadata is complete."""
    return lambda: podman.exec(container, "true", check=False)


@pytest.mark.root
@pytest.mark.podman
@pytest.mark.server
def test_one_scan_per_image_digest(
    platform: PlatformThread, podman: Podman, busybox_image: str, tmp_path: Path
) -> None:
    digest = podman.cmd("image", "inspect", "--format", "{{.Digest}}", busybox_image)
    digest_text = digest.stdout.decode().strip()
    agent = Agent(AgentConfig(tmp_path / "agent", platform.agent_url, platform.token()))
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            agent.run(stop)
        except BaseException as e:
            failure.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert wait_for(lambda: agent.ready.is_set() or bool(failure), 30), "agent not ready"
        assert not failure, failure
        scans = agent.image_scans
        assert scans is not None
        first = podman.run_detached(busybox_image, "sleep", "60")
        scanned = wait_for(lambda: digest_text in scans.scanned, 60, exec_in(podman, first))
        assert scanned, (scans.scanned, scans.failed)
        second = podman.run_detached(busybox_image, "sleep", "60")
        for _ in range(3):  # execs the pipeline sees with complete metadata
            exec_in(podman, second)()
        assert wait_for(scans.idle, 30)
        podman.remove(first)
        podman.remove(second)
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive() and not failure, failure
    assert scans.scanned.count(digest_text) == 1 and scans.failed == 0
    assert digest_text in (tmp_path / "agent" / "scanned-images").read_text().split()
    platform.stop()
    store = SqliteStore(str(platform.data_dir / "stockade.db"))
    try:
        stored = store.get_scan(digest_text)
    finally:
        store.close()
    assert stored is not None
    assert stored.image.agent_id == agent.agent_id
    assert stored.image.names == (busybox_image,)
    assert {f.id for f in stored.result.findings} >= {"STK-IMG-0001"}  # runs as root
    platform.start()
