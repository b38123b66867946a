"""Warnings for rules that need event types the sensor does not capture (they cannot match)."""

from __future__ import annotations

from collections.abc import Iterable, Set

from stockade.rules.messages import LoadMessage
from stockade.rules.ruleset import CompiledRule

CODE = "LOAD_EVTTYPE_NOT_CAPTURED"


def uncaptured_warnings(rules: Iterable[CompiledRule], captured: Set[str]) -> list[LoadMessage]:
    """One warning per enabled rule naming the event types it needs outside `captured`."""
    warnings = []
    for rule in rules:
        if not rule.enabled or rule.event_types is None:
            continue  # a rule on every event type sees whatever is captured
        missing = sorted(rule.event_types - captured)
        if not missing:
            continue
        never = " (it can never match here)" if len(missing) == len(rule.event_types) else ""
        text = (
            f"needs event type(s) {', '.join(missing)} that the sensor on this host "
            f"does not capture{never}"
        )
        item = f"rule '{rule.name}'"
        warnings.append(LoadMessage(CODE, text, rule.file, rule.line, rule.column, item))
    return warnings
