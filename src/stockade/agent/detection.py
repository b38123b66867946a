"""The agent's detectors (the rule engine over the configured or default rule files) and
the kernel event types they need, so the sensor attaches only those."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stockade.agent.errors import AgentError
from stockade.detect.base import Detector
from stockade.model import EventType
from stockade.model.events import LIFECYCLE_EVENT_TYPES
from stockade.rules.default import default_rule_paths
from stockade.rules.detector import RulesDetector

_KNOWN = frozenset(t.value for t in EventType)


def rules_detector(rule_paths: Sequence[Path] = ()) -> RulesDetector:
    """A RulesDetector over `rule_paths` (Stockade's default rules when empty).

    Refuses rules that do not load: an agent must not run silently blind.
    """
    paths = list(rule_paths) or default_rule_paths()
    detector = RulesDetector.from_paths(paths)
    errors = detector.ruleset.errors
    if errors:
        first = errors[0]
        raise AgentError(
            f"{len(errors)} error(s) in the rule files; first: {first.file}:{first.line}:"
            f"{first.column}: {first.code}: {first.message} (check with `stockade rules validate`)"
        )
    return detector


def event_types_needed(detectors: Sequence[Detector]) -> frozenset[EventType]:
    """The event types the detectors can match, plus the process lifecycle."""
    needed = set(LIFECYCLE_EVENT_TYPES)
    for detector in detectors:
        if not isinstance(detector, RulesDetector):
            return frozenset(EventType)  # an unknown detector may look at anything
        for rule in detector.ruleset.rules:
            if rule.event_types is None:
                return frozenset(EventType)
            needed.update(EventType(t) for t in rule.event_types if t in _KNOWN)
    return frozenset(needed)
