"""Fixtures for the eBPF sensor tests: a running BpfSource and a container to act in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stockade.sensor.bpf import BpfSource
from tests.support.podman import Podman
from tests.support.sensor import HOST_MOUNTS, Collector


# Package scope: its programs run on every syscall of the host, so they are detached
# when tests/sensor/bpf ends rather than at the end of the session.
@pytest.fixture(scope="package")
def bpf_source() -> Iterator[BpfSource]:
    """One BpfSource with every default event type, started for this package's tests."""
    source = BpfSource()
    source.start()
    yield source
    source.stop()


@pytest.fixture
def collector(bpf_source: BpfSource) -> Collector:
    """A collector that starts after draining what is already waiting."""
    bpf_source.poll(0)
    return Collector(bpf_source)


@pytest.fixture(scope="package")
def container(podman: Podman, busybox_image: str) -> Iterator[str]:
    """A running busybox container with the host's /usr mounted read-only (for strace)."""
    running = podman.run_detached(busybox_image, "sleep", "600", extra=HOST_MOUNTS)
    yield running
    podman.remove(running)
