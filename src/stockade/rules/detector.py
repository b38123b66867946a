"""`RulesDetector`: the rule engine as a Detector, with atomic hot reload."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from stockade.detect.base import DETECTORS
from stockade.model import Alert, Event
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

    @property
    def ruleset(self) -> Ruleset:
        """The ruleset events are judged by now."""
        return self._ruleset

    def inspect(self, event: Event) -> list[Alert]:
        """Alerts for this event under one ruleset (read once, so never half old, half new)."""
        return self._ruleset.evaluate(event)

    def reload(
        self, paths: Sequence[Path | str], *, sources: Sequence[tuple[str, str]] = ()
    ) -> list[LoadMessage]:
        """Build a new ruleset off to the side and swap it in; refuse it if it has errors."""
        fresh = load_rules(paths, sources=sources, matching=self._ruleset.matching)
        if fresh.errors:
            return list(fresh.errors)
        self._ruleset = fresh  # one reference assignment: the swap is atomic
        return []


DETECTORS.register("rules", RulesDetector)
