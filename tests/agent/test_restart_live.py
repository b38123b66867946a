"""Agent restarts lose no event: the pinned sensor records while no agent runs.

A real `stockade agent` process with `--pin-dir` is killed with SIGKILL in the middle of
5,000 marker execs and started again (the same object, or another one: an upgrade); its
spool (the platform is stopped once the agent enrolled, so nothing is acknowledged and
trimmed) must hold every marker exactly once. A ring too small for the down-time keeps
the first markers and counts the rest as lost.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from stockade.sensor.bpf.build import build_object
from stockade.sensor.bpf.pins import object_key
from stockade.sensor.bpf.shipped import OBJECT_ENV
from tests.support.pinned_agent import (
    PinnedAgent,
    exec_only_args,
    execs_done,
    fresh_pin_dir,
    marker_counts,
    spooled_events,
    start_marker_execs,
)
from tests.support.platform_runner import PlatformRunner
from tests.support.polling import poll_until

pytestmark = [pytest.mark.root, pytest.mark.ebpf, pytest.mark.server]

MARKERS = 5000
SPOOL_TIMEOUT_S = 180


@pytest.fixture
def agent(
    platform: PlatformRunner, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[PinnedAgent]:
    """An enrolled agent with its own pin dir; its platform is stopped once it runs."""
    ring_mib = getattr(request, "param", None)  # a ring of this many MiB (else the default)
    running = PinnedAgent(
        tmp_path / "agent",
        fresh_pin_dir(),
        platform.agent_url,
        platform.ca_fingerprint,
        platform.token(),
        extra=[
            *exec_only_args(tmp_path / "exec-only.yaml"),
            *(["-o", f"agent.ring_mib={ring_mib}"] if ring_mib else []),
        ],
    )
    try:
        running.start()
        platform.stop()  # nothing is acknowledged: the spool keeps every event
        yield running
    finally:
        running.uninstall()
        platform.start()  # the fixture stops it


def _all_spooled(agent: PinnedAgent, tag: str) -> dict[int, int] | None:
    counts = marker_counts(spooled_events(agent.state_dir / "spool"), tag)
    return dict(counts) if len(counts) == MARKERS else None


def _spooled(agent: PinnedAgent, tag: str) -> Counter[int]:
    return marker_counts(spooled_events(agent.state_dir / "spool"), tag)


def _kill_and_restart_during_markers(
    agent: PinnedAgent, tag: str, env: dict[str, str] | None = None
) -> dict[int, int]:
    child = start_marker_execs(tag, MARKERS)
    poll_until(
        lambda: _spooled(agent, tag).total() > 500,
        SPOOL_TIMEOUT_S,
        "the first markers to be spooled",
        interval=0.5,
    )
    agent.kill()
    agent.start(env)
    execs_done(child)
    return poll_until(
        lambda: _all_spooled(agent, tag), SPOOL_TIMEOUT_S, "every marker", interval=0.5
    )


def _after_gap(agent: PinnedAgent, tag: str) -> dict[int, int] | None:
    """Exec marker MARKERS; the markers before it spooled, once one of it is too."""
    execs_done(start_marker_execs(tag, 1, first=MARKERS))
    counts = _spooled(agent, tag)
    return {i: n for i, n in counts.items() if i < MARKERS} if counts[MARKERS] else None


def _repeated(counts: dict[int, int]) -> list[tuple[int, int]]:
    return sorted((i, n) for i, n in counts.items() if n != 1)[:20]


def test_kill_and_restart_lose_no_exec_and_repeat_none(agent: PinnedAgent) -> None:
    counts = _kill_and_restart_during_markers(agent, f"restart-{uuid.uuid4().hex[:8]}")
    assert not _repeated(counts), f"recorded more than once: {_repeated(counts)}"
    assert "adopted" in agent.log()


def test_an_upgrade_swaps_the_programs_without_a_gap(agent: PinnedAgent, tmp_path: Path) -> None:
    # The next version: the same programs from other bytes. The running object with bytes
    # appended past its ELF contents (which loaders never read) is another object to the
    # pins, without a second compile (~10 s of clang).
    upgraded = tmp_path / "next" / "sensor.bpf.o"
    upgraded.parent.mkdir()
    upgraded.write_bytes(build_object().read_bytes() + b"\0the next version\0")
    tag = f"upgrade-{uuid.uuid4().hex[:8]}"
    counts = _kill_and_restart_during_markers(agent, tag, {OBJECT_ENV: str(upgraded)})
    assert not _repeated(counts), f"recorded more than once: {_repeated(counts)}"
    assert "eBPF: upgrade: object" in agent.log()
    assert agent.pin_dir is not None
    assert [p.name for p in (agent.pin_dir / "links").iterdir()] == [object_key(upgraded)]


@pytest.mark.parametrize("agent", [1], indirect=True, ids=["ring-1MiB"])
def test_a_ring_overflowing_while_down_is_a_counted_gap(agent: PinnedAgent) -> None:
    tag = f"overflow-{uuid.uuid4().hex[:8]}"
    agent.kill()
    execs_done(start_marker_execs(tag, MARKERS))  # ~1 KiB of records each: past 1 MiB
    agent.start()
    # The ring may still be full until the agent read it: exec a marker until one comes.
    counts = poll_until(
        lambda: _after_gap(agent, tag),
        SPOOL_TIMEOUT_S,
        "a marker made after the restart",
        interval=0.5,
    )
    kept = sorted(counts)
    assert kept == list(range(len(kept))), "the ring keeps the oldest records, in order"
    assert 0 < len(kept) < MARKERS, agent.log()[-3000:]
    assert not _repeated(counts)
    lost = re.search(r"(\d+) records lost in the kernel since the sensor was pinned", agent.log())
    assert lost is not None, "the gap was not reported"
    assert int(lost.group(1)) >= MARKERS - len(kept)
