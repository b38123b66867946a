"""Events across a SIGKILL and restart of the agent: with the sensor pinned, and without.

A real platform enrolls a real `stockade agent` process (exec-only rules), then stops so
the spool keeps every event. A child runs 5,000 marker execs (`/bin/true <tag>-<i>`); once
500 are spooled the agent is killed with SIGKILL and started again. Printed side by side:
markers generated against markers in the spool (and any recorded twice), the restart's
start to ready, and kill to the first marker spooled again. Without `--pin-dir` the
markers run while no sensor is loaded are lost; with it the pinned ring holds them.
Needs root, eBPF and a free /sys/fs/bpf.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

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

from stockade.sensor.bpf.source import BpfSource

MARKERS = 5000
KILL_AFTER = 500
TIMEOUT_S = 300


@dataclass(frozen=True)
class Run:
    """One kill-and-restart run's figures."""

    stored: int
    repeated: int
    ready_s: float
    first_event_s: float


def _count(agent: PinnedAgent, tag: str) -> dict[int, int]:
    return dict(marker_counts(spooled_events(agent.state_dir / "spool"), tag))


def _with_last(agent: PinnedAgent, tag: str) -> dict[int, int] | None:
    """Exec marker MARKERS (the ring is FIFO): once it is spooled, so are all before it."""
    execs_done(start_marker_execs(tag, 1, first=MARKERS))
    counts = _count(agent, tag)
    return counts if MARKERS in counts else None


def kill_and_restart(scratch: Path, pinned: bool) -> Run:
    """Markers across a SIGKILL of the agent and its restart; what the spool holds after."""
    platform = PlatformRunner(scratch / "platform").start()
    agent = PinnedAgent(
        scratch / "agent",
        fresh_pin_dir() if pinned else None,
        platform.agent_url,
        platform.ca_fingerprint,
        platform.token(),
        extra=exec_only_args(scratch / "rules.yaml"),
    )
    try:
        agent.start()
        platform.stop()
        tag = uuid.uuid4().hex[:8]
        child = start_marker_execs(tag, MARKERS)
        poll_until(lambda: len(_count(agent, tag)) >= KILL_AFTER, TIMEOUT_S, "first markers")
        agent.kill()
        killed_at, before = time.monotonic(), len(_count(agent, tag))
        ready_s = agent.start()
        poll_until(lambda: len(_count(agent, tag)) > before, TIMEOUT_S, "a marker after the kill")
        first_event_s = time.monotonic() - killed_at
        execs_done(child)
        counts = poll_until(
            lambda: _with_last(agent, tag), TIMEOUT_S, "the last marker", interval=0.5
        )
        kept = {i: n for i, n in counts.items() if i < MARKERS}
        return Run(len(kept), sum(n - 1 for n in kept.values()), ready_s, first_event_s)
    finally:
        agent.uninstall()


def main() -> None:
    """Print generated against stored markers, pinned and not, and the restart times."""
    logging.disable(logging.WARNING)
    if reason := BpfSource.unavailable_reason():
        print(f"skipped: {reason}")
        return
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    widths = {"restart": -12, "generated": 9, "stored": 7, "twice": 6, "ready": 8}
    print(" ".join(f"{h:{'<' if w < 0 else '>'}{abs(w)}s}" for h, w in widths.items()), end="")
    print(f" {'kill->event':>12s}")
    for pinned in (False, True):
        with tempfile.TemporaryDirectory() as scratch:
            run = kill_and_restart(Path(scratch), pinned)
        name = "pinned" if pinned else "unpinned"
        print(
            f"{name:12s} {MARKERS:9d} {run.stored:7d} {run.repeated:6d}"
            f" {run.ready_s:7.2f}s {run.first_event_s:11.2f}s"
        )


if __name__ == "__main__":
    main()
