"""Agent restarts lose no event: the pinned sensor records while no agent runs.

A real `stockade agent` process with `--pin-dir` is killed with SIGKILL in the middle of
5,000 marker execs and started again; its spool (the platform is stopped once the agent
enrolled, so nothing is acknowledged and trimmed) must hold every marker exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pinned_agent import (
    PinnedAgent,
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
# One rule that never fires: the sensor attaches exec and the process lifecycle only, so
# the busy host's other syscalls do not fill the spool the test reads.
EXEC_ONLY_RULE = """
- rule: Marker never matches
  desc: makes the agent record execs only
  condition: evt.type = execve and proc.name = no-such-process-name
  output: never
  priority: NOTICE
"""


@pytest.fixture
def exec_rules(tmp_path: Path) -> Path:
    """A rule file needing execve only."""
    path = tmp_path / "exec-only.yaml"
    path.write_text(EXEC_ONLY_RULE)
    return path


@pytest.fixture
def agent(platform: PlatformRunner, tmp_path: Path, exec_rules: Path) -> Iterator[PinnedAgent]:
    """An enrolled agent with its own pin dir; its platform is stopped once it runs."""
    running = PinnedAgent(
        tmp_path / "agent",
        fresh_pin_dir(),
        platform.agent_url,
        platform.ca_fingerprint,
        platform.token(),
        extra=["--rules", str(exec_rules)],
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


def test_kill_and_restart_lose_no_exec_and_repeat_none(agent: PinnedAgent) -> None:
    tag = f"restart-{uuid.uuid4().hex[:8]}"
    child = start_marker_execs(tag, MARKERS)
    poll_until(
        lambda: marker_counts(spooled_events(agent.state_dir / "spool"), tag).total() > 500,
        SPOOL_TIMEOUT_S,
        "the first markers to be spooled",
    )
    agent.kill()
    agent.start()
    execs_done(child)
    counts = poll_until(lambda: _all_spooled(agent, tag), SPOOL_TIMEOUT_S, "every marker")
    repeated = {i: n for i, n in counts.items() if n != 1}
    assert not repeated, f"recorded more than once: {sorted(repeated.items())[:20]}"
    assert "adopted" in agent.log()
