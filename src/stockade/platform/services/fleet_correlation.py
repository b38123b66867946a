"""Fleet correlations on the workers: each stored batch's alerts and connections become
signals in the store's shared state, judged there with every other worker's; a
correlation met raises one alert (agent `fleet`), grouped into an incident and handed to
the outputs like an agent's."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stockade.detect.base import DetectorConfig
from stockade.detect.fleet import (
    FLEET_AGENT,
    FleetCorrelation,
    Signal,
    host_addresses,
    signals_of,
)
from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.model.wire import Batch
from stockade.platform.bus import BATCHES, Bus
from stockade.platform.errors import PlatformConfigError
from stockade.platform.messages import IngestBatch
from stockade.platform.services.incidents import IncidentService
from stockade.platform.store import StoreError
from stockade.platform.store.fleet import FleetState
from stockade.platform.store.runner import StoreRunner
from stockade.platform.timestamps import parse_ns
from stockade.rules.fields import FIELDS
from stockade.rules.transformers import ExtractorBuilder

log = logging.getLogger(__name__)
PRUNE_EVERY_NS = 60 * 1_000_000_000
AlertSink = Callable[[list[Alert]], None]


def load_fleet_correlations(paths: Sequence[Path] = ()) -> list[FleetCorrelation]:
    """The `scope: fleet` correlations of these files (default: Stockade's shipped ones);
    PlatformConfigError naming the first problem."""
    from stockade.detect.correlation_load import correlation_paths, load_correlations

    loaded = load_correlations(correlation_paths(DetectorConfig(correlation_paths=tuple(paths))))
    if loaded.errors:
        first = loaded.errors[0]
        raise PlatformConfigError(
            f"{first.file}:{first.line}:{first.column}: {first.code}: {first.message}"
        )
    return loaded.fleet


def _alert_ts(alert: Alert) -> int:
    try:
        return parse_ns(alert.time)
    except ValueError:
        return 0


def _local_address() -> Callable[[Event], object]:
    """fd.sip: an accepted socket's local (server) address, the host's own."""
    from stockade.detect.correlation_load import parse_field

    getter, _, _ = ExtractorBuilder(FIELDS).build(parse_field("fd.sip"))
    return getter


class FleetCorrelator:
    """A bus subscriber after the store worker and incidents: judges the fleet correlations."""

    def __init__(
        self,
        correlations: Sequence[FleetCorrelation],
        state: FleetState,
        runner: StoreRunner,
        incidents: IncidentService,
        emit: AlertSink | None = None,
    ) -> None:
        self._specs = {c.name: c for c in correlations}
        self._state = state
        self._runner = runner
        self._incidents = incidents
        self._emit = emit
        self._local_address = _local_address()
        self._keep_ns = 2 * max((c.window_ns for c in correlations), default=0)
        self._pruned_at = 0

    def attach(self, bus: Bus) -> None:
        """Subscribe to the batches subject, when there is anything to judge."""
        if self._specs:
            bus.subscribe(BATCHES, self.handle)

    async def handle(self, ingest: IngestBatch) -> None:
        """Judge the batch; a failure is logged, never refuses the batch."""
        batch = ingest.batch
        signals = signals_of(list(self._specs.values()), batch, _alert_ts)
        addresses = host_addresses(batch, self._local_address)
        if not signals and not addresses:
            return
        try:
            alerts = await self._runner.write(self.judge, signals, addresses)
        except StoreError as e:
            log.error("fleet correlations left out batch of agent %s: %s", batch.agent_id, e)
            return
        if alerts and self._emit is not None:
            self._emit(alerts)

    def judge(self, signals: list[Signal], addresses: list[tuple[str, str, int]]) -> list[Alert]:
        """On the store's writer thread: judge, group the alerts raised into incidents."""
        now = time.time_ns()
        alerts = self._state.judge(self._specs, signals, addresses, now)
        if alerts:
            seqs = [a.seq for a in alerts]
            raised = Batch(agent_id=FLEET_AGENT, first_seq=min(seqs), last_seq=max(seqs))
            raised.alerts = alerts
            self._incidents.group_batch(raised)
        newest = max((s.ts for s in signals), default=0)
        if newest - self._pruned_at > PRUNE_EVERY_NS:
            self._pruned_at = newest
            self._state.prune(newest - self._keep_ns)
        return alerts
