"""Freeing the kernel's ring only once its records are in the spool; no repeats on replay.

The pinned ring buffer outlives the agent (sensor/bpf/pins.py), and its consumer position
is a byte offset that only grows: a sequence number of the records. The agent reads
ahead of that position and commits it only after the records read are spooled, so an
agent killed in between leaves them for the next one. Two things make that exact:

- An event held back for its container's metadata (context/pending.py) keeps the commit
  at the start of the batch it came in; so records after it, spooled already, come again.
- A state file beside the spool, rewritten (atomically) before each commit, names the
  commit position and the spool sequence before its batch was spooled ("floor"), plus
  the boot-to-epoch offset the events were stamped with. The next agent stamps with the
  same offset, reads the spooled events past the floor, and drops a replayed event with
  the same (type, timestamp, thread): each event is spooled exactly once.

The file keeps the previous commit too: a kill between writing it and moving the
kernel's position leaves the kernel at the previous one, which the file still names.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

from stockade.agent.spool import Spool
from stockade.model import Event
from stockade.sensor.base import EventSource
from stockade.sensor.bpf.source import BpfSource

log = logging.getLogger(__name__)
STATE_NAME = "ring-commit"
_READ_BATCH = 2000

EventKey = tuple[str, int, int]


class CommittingSource(Protocol):
    """What the commits need of the event source (BpfSource with held commits)."""

    @property
    def epoch_offset(self) -> int: ...  # noqa: D102

    def position(self) -> int: ...  # noqa: D102
    def committed(self) -> int: ...  # noqa: D102
    def produced(self) -> int: ...  # noqa: D102
    def commit(self, position: int) -> None: ...  # noqa: D102
    def set_epoch_offset(self, offset_ns: int) -> None: ...  # noqa: D102


def event_key(event: Event) -> EventKey:
    """What tells two events apart across a replay: type, kernel timestamp, thread."""
    return (event.type, event.ts, event.proc.tid or event.proc.pid)


class RingCommits:
    """Commit positions after spooling; after a restart, drop what the spool holds already."""

    def __init__(self, state_dir: Path, source: CommittingSource, spool: Spool) -> None:
        self._path = state_dir / STATE_NAME
        self._source = source
        self._spool = spool
        self._floors: dict[int, int] = {}  # batch start position -> spool seq before it
        self._last: tuple[int, int] | None = None  # (position, floor) last written
        self._replayed: set[EventKey] = set()
        self._replay_until = 0  # ring position past which nothing was read before
        self.skipped = 0  # replayed events dropped: they were spooled before the restart

    def resume(self, ring_adopted: bool) -> None:
        """Take the offset and the spooled events of the last run (when its ring was kept)."""
        state = _read_state(self._path) if ring_adopted else None
        if state is None:
            self._write(self._source.committed(), self._spool.last_seq)
            return
        offset, commits = state
        self._source.set_epoch_offset(offset)
        committed = self._source.committed()
        floor = next((f for p, f in commits if p == committed), min(f for _, f in commits))
        self._replayed = self._spooled_since(floor)
        self._replay_until = self._source.produced()
        self._last = (committed, floor)
        log.info(
            "ring resumed at position %d: %d events spooled after it by the last run",
            committed,
            len(self._replayed),
        )

    def _spooled_since(self, floor: int) -> set[EventKey]:
        keys: set[EventKey] = set()
        seq = floor + 1
        while seq <= self._spool.last_seq:
            records = self._spool.read(seq, _READ_BATCH)
            if not records:
                break
            keys.update(event_key(r) for r in records if isinstance(r, Event))
            seq = records[-1].seq + 1
        return keys

    def begin_batch(self) -> int:
        """Before a poll: the position the batch starts at (the mark of its held events)."""
        start = self._source.position()
        self._floors.setdefault(start, self._spool.last_seq)
        return start

    def drop_replayed(self, events: list[Event]) -> list[Event]:
        """`events` without those the last run spooled already (only while replaying)."""
        if not self._replayed:
            return events
        kept = []
        for event in events:
            key = event_key(event)
            if key in self._replayed:
                self._replayed.discard(key)
                self.skipped += 1
            else:
                kept.append(event)
        if self._source.position() >= self._replay_until:
            self._replayed.clear()  # past what the last run read: no repeat can follow
        return kept

    def commit(self, oldest_held: int | None) -> None:
        """After spooling: free the ring up to the oldest held batch, or all that was read."""
        if oldest_held is None:
            position, floor = self._source.position(), self._spool.last_seq
        else:
            position, floor = oldest_held, self._floors[oldest_held]
        self._floors = {p: f for p, f in self._floors.items() if p >= position}
        if self._last is not None and self._last[0] == position:
            return
        self._write(position, floor)
        self._source.commit(position)

    def _write(self, position: int, floor: int) -> None:
        previous = self._last or (position, floor)
        text = f"{self._source.epoch_offset}\n{previous[0]} {previous[1]}\n{position} {floor}\n"
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self._path)
        self._last = (position, floor)


def _read_state(path: Path) -> tuple[int, list[tuple[int, int]]] | None:
    """(epoch offset, [(position, floor)]) from the state file; None if absent or torn."""
    try:
        lines = path.read_text().split("\n")
        offset = int(lines[0])
        commits = [(int(p), int(f)) for p, f in (line.split() for line in lines[1:] if line)]
    except (OSError, ValueError, IndexError):
        return None
    return (offset, commits) if commits else None


def resume_commits(source: EventSource, state_dir: Path, spool: Spool) -> RingCommits | None:
    """Commits for a pinned eBPF source (resumed from the last run's), else None."""
    if not isinstance(source, BpfSource) or source.adoption is None:
        return None
    adoption = source.adoption
    if adoption.reused_maps and "events" in adoption.reused_maps:
        dropped = source.drop_reasons()
        if any(dropped.values()):
            log.warning(
                "eBPF: %d records lost in the kernel since the sensor was pinned (ring full:"
                " %d), some maybe while no agent ran: counted in the sensor's dropped",
                sum(dropped.values()),
                dropped["ring_full"],
            )
    commits = RingCommits(state_dir, source, spool)
    commits.resume("events" in adoption.reused_maps)
    return commits
