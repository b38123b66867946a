"""Choose the event source to run: eBPF first, else audit + proc connector + fanotify merged.

`choose_source` tries each candidate in order and returns the first that starts, with
the reasons the better ones could not (what `stockade doctor` and heartbeats show).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from stockade.model import Event, EventType
from stockade.sensor.base import SOURCES, EventSource, SensorError, SensorStats, SensorUnavailable

# Modules that register the sources the chain may use (imported on demand).
_SOURCE_MODULES = {
    "ebpf": "stockade.sensor.bpf",
    "proc_connector": "stockade.sensor.proc_connector",
    "fanotify": "stockade.sensor.fanotify",
    "audit": "stockade.sensor.audit",
}
DEFAULT_CHAIN: tuple[tuple[str, ...], ...] = (
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
# Sources whose records the kernel queues after the syscall (kauditd): read first, emitted
# after the other parts' events of the same poll, so a child's clone (already queued on
# the proc connector when its exec's audit record arrives) reaches the process tree first.
LAGGING: frozenset[str] = frozenset({"audit"})


class MergedSource(EventSource):
    """Several sources polled as one; every part must start."""

    id = "merged"

    def __init__(self, parts: Sequence[EventSource]) -> None:
        if not parts:
            raise ValueError("MergedSource needs at least one source")
        self.parts = tuple(parts)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Always None: the parts say for themselves."""
        return None

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
        """Share the wait between the parts; their events in one list, lagging parts last."""
        share = timeout_s / len(self.parts)
        events: list[Event] = []
        lagging: list[Event] = []
        for part in self.parts:
            (lagging if part.id in LAGGING else events).extend(part.poll(share))
        return events + lagging

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


@dataclass(frozen=True, slots=True)
class SensorChoice:
    """The started source and, when it is not the first choice, why (degraded=<reason>)."""

    source: EventSource
    name: str
    degraded: str | None


def source_class(source_id: str) -> type[EventSource]:
    """The registered class of a source id, importing the module that registers it."""
    if source_id not in SOURCES and source_id in _SOURCE_MODULES:
        try:
            importlib.import_module(_SOURCE_MODULES[source_id])
        except ImportError as e:
            raise SensorUnavailable(f"{source_id}: not installed ({e})") from e
    try:
        return SOURCES.get(source_id)
    except KeyError as e:
        raise SensorUnavailable(f"{source_id}: no such event source") from e


def _build(source_id: str, event_types: frozenset[EventType]) -> EventSource:
    cls = source_class(source_id)
    if reason := cls.unavailable_reason():
        raise SensorUnavailable(f"{source_id}: {reason}")
    if source_id == "ebpf":
        return cls(event_types)  # type: ignore[call-arg]
    if source_id == "proc_connector":
        return cls(emit_exec=EventType.EXECVE in event_types)  # type: ignore[call-arg]
    return cls()


def part_types(candidate: Sequence[str], types: frozenset[EventType]) -> list[frozenset[EventType]]:
    """The event types each part of `candidate` should report, minus earlier parts' claims."""
    result: list[frozenset[EventType]] = []
    claimed: frozenset[EventType] = frozenset()
    for source_id in candidate:
        result.append(types - claimed)
        claimed |= CLAIMED_TYPES.get(source_id, frozenset()) & types
    return result


def choose_source(
    chain: Iterable[Sequence[str]] = DEFAULT_CHAIN,
    *,
    event_types: Iterable[EventType] = frozenset(EventType),
    disabled: Iterable[str] = (),
    build: Callable[[str, frozenset[EventType]], EventSource] = _build,
) -> SensorChoice:
    """Start the first candidate of `chain` that works (skipping `disabled` ids)."""
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
            source = parts[0] if len(parts) == 1 else MergedSource(parts)
            source.start()
        except SensorError as e:
            reasons.append(str(e))
            continue
        return SensorChoice(source, "+".join(candidate), "; ".join(reasons) or None)
    raise SensorUnavailable("no event source can run here: " + "; ".join(reasons))
