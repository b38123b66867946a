"""Choose the event source to run: eBPF first, else audit + proc connector + fanotify merged.

`DEFAULT_CHAIN` is the one declaration of that order: the agent, `stockade doctor`,
`watch` and `sensor record` all read it. `choose_source` tries each candidate in order
and returns the first that starts, with the reasons the better ones could not (what
`stockade doctor` and heartbeats show).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from stockade.model import Event, EventType
from stockade.sensor.base import SOURCES, EventSource, SensorError, SensorStats, SensorUnavailable
from stockade.sensor.bpf.syscalls import syscall_table

# Candidates tried in order (ids in SOURCES); the parts of a candidate run merged.
Chain = tuple[tuple[str, ...], ...]
DEFAULT_CHAIN: Chain = (
    ("ebpf",),
    ("audit", "proc_connector", "fanotify"),
    ("proc_connector", "fanotify"),
    ("proc_connector",),
)

# Event types a source reports completely: later parts of the same candidate are built
# without them, so a merged source reports each event once (audit's execs carry argv).
CLAIMED_TYPES: dict[str, frozenset[EventType]] = {
    "audit": frozenset({EventType.EXECVE, EventType.EXECVEAT}),
}
# Sources whose records the kernel queues after the syscall (kauditd), with a coarse clock:
# their events are put in place among the other parts' events by `interleave`.
LAGGING: frozenset[str] = frozenset({"audit"})
_CLONES = frozenset({"clone", "clone3", "fork", "vfork"})


class MergedSource(EventSource):
    """Several sources polled as one; every part must start."""

    id = "merged"

    def __init__(self, parts: Sequence[EventSource]) -> None:
        if not parts:
            raise ValueError("MergedSource needs at least one source")
        self.parts = tuple(parts)
        # With a lagging part: children cloned whose exec has not come, and the exits of
        # such children held for one poll, in case their exec's record is still in flight.
        self._awaiting_exec: set[int] = set()
        self._held: list[Event] = []

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Always None: the parts say for themselves."""
        return None

    def set_fd_kinds(self, fd_kinds: Mapping[str, frozenset[str]]) -> None:
        """Passed on to every part."""
        for part in self.parts:
            part.set_fd_kinds(fd_kinds)

    @property
    def name(self) -> str:
        """The ids of the parts joined with '+', e.g. proc_connector+fanotify."""
        return "+".join(p.id for p in self.parts)

    def start(self) -> None:
        """Start every part; if one fails, stop those already started and re-raise."""
        started: list[EventSource] = []
        try:
            for part in self.parts:
                part.start()
                started.append(part)
        except BaseException:
            for part in started:
                part.stop()
            raise

    def poll(self, timeout_s: float) -> list[Event]:
        """Share the wait between the parts; their events in one list, in process order."""
        share = timeout_s / len(self.parts)
        events: list[Event] = []
        lagging: list[Event] = []
        for part in self.parts:
            (lagging if part.id in LAGGING else events).extend(part.poll(share))
        if not any(part.id in LAGGING for part in self.parts):
            return events
        return self._in_process_order(events, lagging)

    def _in_process_order(self, events: list[Event], lagging: list[Event]) -> list[Event]:
        held, self._held = self._held, []
        waiting = self._awaiting_exec
        waiting.difference_update(e.proc.pid for e in held)
        execs = {e.proc.pid for e in lagging}
        waiting.difference_update(execs)
        ready: list[Event] = []
        for event in events:
            if event.type in _CLONES and event.proc.pid not in execs:
                waiting.add(event.proc.pid)
            elif event.type == "procexit" and event.proc.pid in waiting:
                waiting.discard(event.proc.pid)
                self._held.append(event)
                continue
            ready.append(event)
        return interleave(held + ready, lagging)

    def stop(self) -> None:
        """Stop every part."""
        for part in self.parts:
            part.stop()

    def stats(self) -> SensorStats:
        """The parts' counters summed."""
        total = SensorStats()
        for part in self.parts:
            s = part.stats()
            total.dropped += s.dropped
            total.decode_errors += s.decode_errors
            for k, v in s.events_by_type.items():
                total.events_by_type[k] = total.events_by_type.get(k, 0) + v
        return total


def interleave(events: list[Event], lagging: list[Event]) -> list[Event]:
    """Place each lagging event of a pid after that pid's clone in `events`, else before
    its first event there (its exit), else at the end: clone, exec, exit stay in order."""
    if not lagging:
        return events
    pending: dict[int, list[Event]] = {}
    for event in lagging:
        pending.setdefault(event.proc.pid, []).append(event)
    clones = {e.proc.pid: i for i, e in enumerate(events) if e.type in _CLONES}
    merged: list[Event] = []
    for i, event in enumerate(events):
        pid = event.proc.pid
        if pid in pending and pid not in clones:
            merged += pending.pop(pid)  # its clone came in an earlier poll: exec first
        merged.append(event)
        if pid in pending and clones.get(pid) == i:
            merged += pending.pop(pid)
    for rest in pending.values():
        merged += rest
    return merged


@dataclass(frozen=True, slots=True)
class SensorChoice:
    """The started source and, when it is not the first choice, why (degraded=<reason>)."""

    source: EventSource
    name: str
    degraded: str | None


def parse_chain(candidates: Iterable[str]) -> Chain:
    """A chain from candidates written as ids joined by '+', e.g. "proc_connector+fanotify"."""
    return tuple(tuple(candidate.split("+")) for candidate in candidates)


def source_class(source_id: str) -> type[EventSource]:
    """The class registered in SOURCES as `source_id`; SensorUnavailable naming the known ids."""
    if source_id not in SOURCES:
        raise SensorUnavailable(f"{source_id}: {SOURCES.unknown(source_id)}")
    return SOURCES.get(source_id)


_TYPE_NAMES = frozenset(t.value for t in EventType)


def capturable(names: Iterable[str]) -> frozenset[str]:
    """Those of `names` a sensor may capture: Stockade's event types and the other
    syscalls of this machine (eBPF reports them as Falco's generic event)."""
    syscalls = set(syscall_table().values())
    return frozenset(n for n in names if n in _TYPE_NAMES or n in syscalls)


def _build(source_id: str, event_types: frozenset[str]) -> EventSource:
    cls = source_class(source_id)
    if reason := cls.unavailable_reason():
        raise SensorUnavailable(f"{source_id}: {reason}")
    if not cls.generic_syscalls:  # it has readers for Stockade's event types only
        event_types = frozenset(t for t in event_types if t in _TYPE_NAMES)
    return cls(event_types)


def part_types(candidate: Sequence[str], types: frozenset[str]) -> list[frozenset[str]]:
    """The event types each part of `candidate` should report, minus earlier parts' claims."""
    result: list[frozenset[str]] = []
    claimed: frozenset[str] = frozenset()
    for source_id in candidate:
        result.append(types - claimed)
        claimed |= CLAIMED_TYPES.get(source_id, frozenset()) & types
    return result


def choose_source(
    chain: Iterable[Sequence[str]] = DEFAULT_CHAIN,
    *,
    event_types: Iterable[str] = frozenset(EventType),
    disabled: Iterable[str] = (),
    build: Callable[[str, frozenset[str]], EventSource] = _build,
    fd_kinds: Mapping[str, frozenset[str]] | None = None,
    configure: Callable[[EventSource], None] | None = None,
) -> SensorChoice:
    """Start the first candidate of `chain` that works (skipping `disabled` ids).

    `event_types` are Falco's names: Stockade's event types and, for a source that
    reports any syscall generically (eBPF), other syscalls; the rest get only the former.
    `fd_kinds` (see `EventSource.set_fd_kinds`) lets a source drop I/O calls early.
    `configure` sees each part before it starts (the agent asks eBPF to stay pinned).
    """
    types, off = frozenset(event_types), set(disabled)
    reasons: list[str] = []
    for candidate in chain:
        if skipped := [i for i in candidate if i in off]:
            reasons.append(f"{'+'.join(skipped)}: disabled by flag")
            continue
        try:
            parts = [
                build(i, t) for i, t in zip(candidate, part_types(candidate, types), strict=True)
            ]
            if configure is not None:
                for part in parts:
                    configure(part)
            source = parts[0] if len(parts) == 1 else MergedSource(parts)
            if fd_kinds:
                source.set_fd_kinds(fd_kinds)
            source.start()
        except SensorError as e:
            reasons.append(str(e))
            continue
        return SensorChoice(source, "+".join(candidate), "; ".join(reasons) or None)
    raise SensorUnavailable("no event source can run here: " + "; ".join(reasons))
