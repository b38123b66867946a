"""`stockade worker`: one consumer of the shared bus (store, incidents, outputs, retention)."""

from __future__ import annotations

import gc
import signal
from typing import TYPE_CHECKING

import typer

from stockade.cli.configured import ConfigFile, Overrides, command_config
from stockade.cli.platform import (
    AlertsDays,
    BusId,
    BusLocation,
    DataDir,
    EventsDays,
    IncidentWindowMin,
    StoreId,
    StoreLocation,
    StoreMaxGb,
    platform_config,
)

if TYPE_CHECKING:  # imported when the command runs: keeps `stockade --help` fast
    from stockade.platform.worker import Worker

WORKER_FLAGS = {  # parameter -> configuration key (the `server` section: one fleet, one file)
    "data_dir": "data_dir",
    **{
        name: f"server.{name}"
        for name in [
            "store",
            "store_location",
            "bus",
            "bus_location",
            "events_days",
            "alerts_days",
            "store_max_gb",
            "incident_window_min",
        ]
    },
}


def register(app: typer.Typer) -> None:
    """Add `stockade worker` to the top-level app."""
    app.command()(worker)


def worker(
    ctx: typer.Context,
    config: ConfigFile = None,
    option: Overrides = None,
    data_dir: DataDir = None,
    store: StoreId = "sqlite",
    store_location: StoreLocation = "",
    bus: BusId = "nats",
    bus_location: BusLocation = "",
    events_days: EventsDays = 7,
    alerts_days: AlertsDays = 90,
    store_max_gb: StoreMaxGb = 5,
    incident_window_min: IncidentWindowMin = 30,
) -> None:
    """Run a platform worker: store agents' batches from the bus, group incidents, forward
    alerts; run as many as the load needs beside `stockade server` API nodes."""
    import asyncio

    from stockade.platform.worker import Worker

    settings = command_config(
        ctx,
        config,
        option,
        WORKER_FLAGS,
        data_dir=data_dir,
        store=store,
        store_location=store_location,
        bus=bus,
        bus_location=bus_location,
        events_days=events_days,
        alerts_days=alerts_days,
        store_max_gb=store_max_gb,
        incident_window_min=incident_window_min,
    )
    opened = Worker.open(platform_config(settings))
    collect_less_often()
    try:
        asyncio.run(_run_until_signalled(opened))
    finally:
        opened.close()


def collect_less_often() -> None:
    """Tune the garbage collector for ingest: fewer young collections, start-up frozen."""
    # each event is ~30 objects that live until its batch is stored: with the default
    # threshold (700 allocations) the young generation is collected every few dozen
    # events, each time walking the batches in hand (a quarter of decoding and row building,
    # measured); what start-up made lives as long as the process, so no collection walks it
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


async def _run_until_signalled(opened: Worker) -> None:
    import asyncio

    task = asyncio.create_task(opened.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    typer.echo(f"Stockade worker: consuming {opened.config.bus} at {opened.config.bus_location}")
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
