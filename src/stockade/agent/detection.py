"""The agent's detectors, built from the DETECTORS registry, and the kernel event types
they need, so the sensor attaches only those."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from stockade.agent.errors import AgentError
from stockade.detect.base import (
    DetectError,
    Detector,
    DetectorConfig,
    FdKindsAware,
    build_detectors,
)
from stockade.model import EventType
from stockade.model.events import HIGH_VOLUME_EVENT_TYPES, LIFECYCLE_EVENT_TYPES
from stockade.sensor.fallback import capturable

DEFAULT_DETECTORS: tuple[str, ...] = ("rules", "correlation", "profile")
# what a detector that may match any event gets
_ANY: frozenset[str] = frozenset(EventType) - HIGH_VOLUME_EVENT_TYPES


def agent_detectors(
    ids: Iterable[str] = DEFAULT_DETECTORS, rule_paths: Sequence[Path] = ()
) -> list[Detector]:
    """The detectors named by `ids`, built from the DETECTORS registry.

    `rule_paths` are the rule files (Stockade's default rules when empty); a detector
    that cannot be built (rules that do not load) is an AgentError: an agent must not
    run silently blind.
    """
    try:
        return build_detectors(ids, DetectorConfig(rule_paths=tuple(rule_paths)))
    except DetectError as e:
        raise AgentError(str(e)) from e


def event_types_needed(detectors: Sequence[Detector]) -> frozenset[str]:
    """The event types the detectors can match, plus the process lifecycle (the base set).

    Any syscall a detector names is in, those without a reader of their own too (eBPF
    reports them as Falco's generic event); names no sensor captures are left out. A
    detector that may look at any event gets every type but the high-volume ones.
    """
    needed: set[str] = set(LIFECYCLE_EVENT_TYPES)
    for detector in detectors:
        types = detector.event_types()
        if types is None:
            return _ANY
        needed |= capturable(types)
    return frozenset(needed)


def fd_kinds_needed(
    detectors: Sequence[Detector], event_types: Iterable[str]
) -> dict[str, frozenset[str]]:
    """For each of `event_types`, the descriptor kinds (fd.typechar) its events must be on
    for some detector to match them; the sensor drops the others early. A type that one
    detector may match on any kind (or with no descriptor), or that none names, is left out.
    """
    needed: dict[str, frozenset[str]] = {}
    for event_type in event_types:
        kinds: set[str] = set()
        named = False
        for detector in detectors:
            types = detector.event_types()
            if types is not None and event_type not in types:
                continue
            named = True
            found = detector.fd_kinds(event_type) if isinstance(detector, FdKindsAware) else None
            if found is None:
                break
            kinds |= found
        else:  # no detector that may match any kind
            if named:
                needed[event_type] = frozenset(kinds)
    return needed
