"""A platform worker: takes batches from the shared bus, stores them, groups their alerts
into incidents, judges the fleet correlations over every host's batches and forwards the
alerts to the outputs; also runs retention, saved hunts and the incident backfill.

`stockade worker` runs one; any number share the bus's durable consumer. Where the bus is
in-process (`stockade up`, `stockade server` without a bus location), the platform process
attaches the same subscribers itself (`attach_workers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stockade.outputs import AlertOutputs, open_outputs
from stockade.platform.backends import (
    batch_writers,
    check_backends,
    open_bus,
    open_fleet_state,
    open_incident_retention,
    open_incident_store,
    open_store,
)
from stockade.platform.bus import Bus, BusError
from stockade.platform.errors import DataDirError, PlatformConfigError
from stockade.platform.services.alert_outputs import AlertForwarder
from stockade.platform.services.fleet_correlation import FleetCorrelator, load_fleet_correlations
from stockade.platform.services.incidents import IncidentService
from stockade.platform.services.ingest import StoreWorker
from stockade.platform.services.metrics import PlatformMetrics
from stockade.platform.services.retention import RetentionService
from stockade.platform.services.saved_hunts import run_schedule
from stockade.platform.store import Store, StoreError
from stockade.platform.store.hunting import HuntingUnavailable, hunting_of
from stockade.platform.store.runner import StoreRunner

if TYPE_CHECKING:
    from stockade.platform.server import PlatformConfig

log = logging.getLogger(__name__)
DB_FILE = "stockade.db"


def attach_workers(
    store: Store,
    runner: StoreRunner,
    bus: Bus,
    metrics: PlatformMetrics,
    incidents: IncidentService,
    config: PlatformConfig,
    data_dir: Path,
) -> AlertOutputs:
    """Subscribe the store worker, then incidents, then fleet correlations, then the
    outputs (in that order: each reads what the one before stored); returns the outputs."""
    correlations = load_fleet_correlations(config.fleet_correlations)
    outputs = open_outputs(config.outputs, data_dir)
    try:
        StoreWorker(store, runner, metrics).attach(bus)
        incidents.attach(bus)
        emit = outputs.emit if outputs.outputs else None
        state = open_fleet_state(store)
        FleetCorrelator(correlations, state, runner, incidents, emit).attach(bus)
        AlertForwarder(outputs).attach(bus)
    except BaseException:
        outputs.close()
        raise
    return outputs


async def run_saved_hunts(store: Store, outputs: AlertOutputs | None) -> None:
    """Run saved hunts on their schedule (on a store that can be hunted); their alerts go
    to the outputs too."""
    try:
        hunting = await asyncio.to_thread(hunting_of, store)
    except HuntingUnavailable as e:
        log.warning("saved hunts do not run: %s", e)
        return
    await run_schedule(hunting, outputs.emit_one if outputs is not None else None)


def worker_duties(
    store: Store,
    runner: StoreRunner,
    config: PlatformConfig,
    metrics: PlatformMetrics,
    outputs: AlertOutputs | None,
    incidents: IncidentService,
) -> list[Coroutine[Any, Any, None]]:
    """What runs beside the consumers: retention, saved hunts, and grouping the alerts
    left out of incidents."""
    orphans = open_incident_retention(store)
    policy = RetentionService(store, runner, config.retention, metrics, orphans)
    return [
        policy.run(),
        run_saved_hunts(store, outputs),
        incidents.run_backfill(config.incident_backfill_s),
    ]


class Worker:
    """Consumes the shared bus into the store until cancelled."""

    def __init__(self, config: PlatformConfig, store: Store, runner: StoreRunner, bus: Bus) -> None:
        self.config = config
        self._store = store
        self._runner = runner
        self._bus = bus
        self._metrics = PlatformMetrics()
        self._outputs: AlertOutputs | None = None
        self._incidents = IncidentService(
            store, open_incident_store(store), runner, config.incident_window_s * 1_000_000_000
        )

    @classmethod
    def open(cls, config: PlatformConfig) -> Worker:
        """Open the store and the bus, and subscribe; PlatformError in one line if not."""
        from stockade.platform.server import prepare_data_dir

        check_backends(config.store, config.bus)
        if config.runs_workers:
            raise PlatformConfigError(
                "a worker takes batches from a shared bus: give --bus nats and "
                "--bus-location nats://HOST:PORT (the in-process bus runs in `stockade server`)"
            )
        data_dir = config.data_dir.expanduser().absolute()
        prepare_data_dir(data_dir)
        try:
            store = open_store(config.store, config.store_location or str(data_dir / DB_FILE))
        except (OSError, StoreError) as e:
            raise DataDirError(f"cannot open the store: {e}") from e
        runner = StoreRunner(batch_writers=batch_writers(store))
        worker = cls(config, store, runner, open_bus(config.bus, config.bus_location))
        try:
            worker._outputs = attach_workers(
                store,
                worker._runner,
                worker._bus,
                worker._metrics,
                worker._incidents,
                config,
                data_dir,
            )
        except BaseException:
            worker.close()
            raise
        return worker

    async def run(self) -> None:
        """Consume, keep retention and saved hunts going, until cancelled; then close the bus."""
        # what start-up made lives as long as the process: each collection of the batches'
        # short-lived objects would otherwise walk all of it again
        gc.freeze()
        duties = worker_duties(
            self._store, self._runner, self.config, self._metrics, self._outputs, self._incidents
        )
        tasks = [asyncio.create_task(work) for work in (self._bus.consume(), *duties)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise BusError(f"worker stopped: {task.exception()}")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            with contextlib.suppress(BusError):
                await self._bus.close()

    def close(self) -> None:
        """Release the outputs, the store's threads and the store."""
        if self._outputs is not None:
            self._outputs.close()
        self._runner.close()
        self._store.close()
