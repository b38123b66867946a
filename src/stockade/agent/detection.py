"""The agent's detectors, built from the DETECTORS registry, and the kernel event types
they need, so the sensor attaches only those."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from stockade.agent.errors import AgentError
from stockade.detect.base import DetectError, Detector, DetectorConfig, build_detectors
from stockade.model import EventType
from stockade.model.events import HIGH_VOLUME_EVENT_TYPES, LIFECYCLE_EVENT_TYPES
from stockade.sensor.fallback import capturable

DEFAULT_DETECTORS: tuple[str, ...] = ("rules", "correlation")
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
