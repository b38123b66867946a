"""Fleet correlations on the workers: each stored batch's alerts and connections become
signals in the store's shared state, judged there with every other worker's; a
correlation met raises one alert (agent `fleet`), grouped into an incident and handed to
the outputs like an agent's."""

from __future__ import annotations

import logging
import os
import signal
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
SWEEP_EVERY_NS = 60 * 1_000_000_000  # the first judge after start sweeps at once
# a claim this old has lost its worker: past the bus's redelivery to another (30 s)
STALE_CLAIM_NS = 300 * 1_000_000_000
CRASH_AFTER_JUDGE = "fleet-after-judge"
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
        self._swept_at = 0

    def attach(self, bus: Bus) -> None:
        """Subscribe to the batches subject, when there is anything to judge."""
        if self._specs:
            bus.subscribe(BATCHES, self.handle)

    async def handle(self, ingest: IngestBatch) -> None:
        """Judge the batch, then group and hand out the alerts raised; a failure is logged,
        never refuses the batch (what it left owed is taken over later, see `take_stale`)."""
        batch = ingest.batch
        signals = signals_of(list(self._specs.values()), batch, _alert_ts)
        addresses = host_addresses(batch, self._local_address)
        if not signals and not addresses:
            return  # judged nothing, so it raised nothing before either
        origin = (batch.agent_id, batch.last_seq)
        try:
            alerts = await self._runner.write(self.judge, signals, addresses, origin)
            if alerts:
                crash_point(CRASH_AFTER_JUDGE)
                await self._runner.write(self.group, alerts)
                if self._emit is not None:
                    self._emit(alerts)
                await self._runner.write(self._state.settle, [a.seq for a in alerts])
        except StoreError as e:
            log.error("fleet correlations left out batch of agent %s: %s", batch.agent_id, e)

    def judge(
        self,
        signals: list[Signal],
        addresses: list[tuple[str, str, int]],
        origin: tuple[str, int],
    ) -> list[Alert]:
        """On the store's writer thread: the alerts raised (and those the batch still owes),
        with those of dead workers now and then."""
        now = time.time_ns()
        alerts = self._state.judge(self._specs, signals, addresses, now, origin)
        if now - self._swept_at > SWEEP_EVERY_NS:
            self._swept_at = now
            alerts += self._state.take_stale(now - STALE_CLAIM_NS, now)
        newest = max((s.ts for s in signals), default=0)
        if newest - self._pruned_at > PRUNE_EVERY_NS:
            self._pruned_at = newest
            self._state.prune(newest - self._keep_ns)
        return alerts

    def group(self, alerts: list[Alert]) -> None:
        """On the store's writer thread: the alerts into incidents (grouping skips those
        already in one, so a redelivery groups nothing twice).

        The outputs get them next, then they are settled: a crash in between hands them
        out again (at least once, with the same uuid)."""
        seqs = [a.seq for a in alerts]
        raised = Batch(agent_id=FLEET_AGENT, first_seq=min(seqs), last_seq=max(seqs))
        raised.alerts = alerts
        self._incidents.group_batch(raised)


def crash_point(name: str) -> None:
    """Die at once (as `kill -9`) when STOCKADE_CRASH_AT names this point: for the tests
    that prove a crash there loses nothing."""
    if os.environ.get("STOCKADE_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
