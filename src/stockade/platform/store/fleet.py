"""The store's part in fleet correlations: the workers' shared signals and fires."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from stockade.detect.fleet import FleetCorrelation, Signal
from stockade.model.alerts import Alert


class FleetState(Protocol):
    """Where workers keep and judge the fleet's signals."""

    def judge(
        self,
        specs: Mapping[str, FleetCorrelation],
        signals: Sequence[Signal],
        addresses: Sequence[tuple[str, str, int]],
        now: int,
    ) -> list[Alert]:
        """Record the signals and hosts' addresses; store and return the alerts of the
        correlations they complete (each correlation, group and window once)."""
        ...

    def prune(self, before_ts: int) -> int:
        """Forget signals older than `before_ts`; how many."""
        ...
