"""`RulesDetector`: the rule engine as a Detector, with atomic hot reload."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stockade.detect.base import DETECTORS, DetectorConfig, DetectorConfigError
from stockade.model import Alert, Event
from stockade.rules.default import default_rule_paths
from stockade.rules.fdkinds import fd_kinds_for
from stockade.rules.loader import load_rules
from stockade.rules.messages import LoadMessage
from stockade.rules.ruleset import Matching, Ruleset


class RulesDetector:
    """Judges each event against the current Ruleset; `reload` swaps in a new one whole."""

    def __init__(self, ruleset: Ruleset) -> None:
        self._ruleset = ruleset

    @classmethod
    def from_paths(cls, paths: Sequence[Path | str], matching: Matching = "all") -> RulesDetector:
        """A detector over rules loaded from `paths` (errors stay in `.ruleset.errors`)."""
        return cls(load_rules(paths, matching=matching))

    @classmethod
    def from_config(cls, config: DetectorConfig) -> RulesDetector:
        """A detector over the configured rule files (Stockade's default rules when none).

        Refuses rules that do not load: an agent must not run silently blind.
        """
        detector = cls.from_paths(list(config.rule_paths) or default_rule_paths())
        errors = detector.ruleset.errors
        if errors:
            first = errors[0]
            raise DetectorConfigError(
                f"{len(errors)} error(s) in the rule files; first: {first.file}:{first.line}:"
                f"{first.column}: {first.code}: {first.message}"
                " (check with `stockade rules validate`)"
            )
        return detector

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset events are judged by now."""
        return self._ruleset

    def inspect(self, event: Event) -> list[Alert]:
        """Alerts for this event under one ruleset (read once, so never half old, half new)."""
        return self._ruleset.evaluate(event)

    def event_types(self) -> frozenset[str] | None:
        """The event types the rules name; None when a rule has no event type."""
        needed: set[str] = set()
        for rule in self._ruleset.rules:
            if rule.event_types is None:
                return None
            needed |= rule.event_types
        return frozenset(needed)

    def fd_kinds(self, event_type: str) -> frozenset[str] | None:
        """The descriptor kinds (fd.typechar) an `event_type` event must be on for a rule to
        match it; None when any kind (or no descriptor) may do."""
        kinds: set[str] = set()
        for rule in self._ruleset.rules:
            if rule.event_types is not None and event_type not in rule.event_types:
                continue
            found = fd_kinds_for(rule.tree, event_type)
            if found is None:
                return None
            kinds |= found
        return frozenset(kinds)

    def use(self, ruleset: Ruleset) -> None:
        """Judge events by `ruleset` from now on (built and checked by the caller)."""
        self._ruleset = ruleset  # one reference assignment: the swap is atomic

    def reload(
        self, paths: Sequence[Path | str], *, sources: Sequence[tuple[str, str]] = ()
    ) -> list[LoadMessage]:
        """Build a new ruleset off to the side and swap it in; refuse it if it has errors."""
        fresh = load_rules(paths, sources=sources, matching=self._ruleset.matching)
        if fresh.errors:
            return list(fresh.errors)
        self._ruleset = fresh  # one reference assignment: the swap is atomic
        return []


DETECTORS.register("rules", RulesDetector.from_config)
