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
        origin: tuple[str, int] = ("", 0),
    ) -> list[Alert]:
        """Record the signals and hosts' addresses; store and return the alerts of the
        correlations they complete (each correlation, group and window once), each owed
        its side effects until `settle`; with them, the alerts the batch `origin` (agent,
        last seq) raised before and still owes (it is being delivered again)."""
        ...

    def take_stale(self, claimed_before: int, now: int) -> list[Alert]:
        """Owed alerts no worker touched since `claimed_before`, now this caller's."""
        ...

    def settle(self, seqs: Sequence[int]) -> None:
        """The side effects of these alerts (by seq) are done."""
        ...

    def prune(self, before_ts: int) -> int:
        """Forget signals older than `before_ts`; how many."""
        ...
