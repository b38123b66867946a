"""The live context tests' sensor: real kernel events through this host's context stage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stockade.context.local import local_context_stage
from stockade.sensor.bpf import BpfSource
from tests.support.sensor import Collector


@pytest.fixture(scope="module")
def source() -> Iterator[BpfSource]:
    """The eBPF sensor with every default event type, for one module's tests."""
    bpf = BpfSource()
    bpf.start()
    yield bpf
    bpf.stop()


@pytest.fixture
def live(source: BpfSource) -> Collector:
    """Kernel events through this host's context stage, kept for the test to search."""
    source.poll(0)
    return Collector(source, enrich=local_context_stage(host_id="test-host").enrich)
