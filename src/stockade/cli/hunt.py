"""`stockade hunt "SELECT ..."`: one read-only query over the platform's store.

It reads the store `server` and `worker` are configured with (`--store`,
`--store-location`, the configuration file's `server` section): the data dir's SQLite
file read-only (safe while the server runs), or PostgreSQL as its read-only hunt role,
as `POST /api/v1/hunt` does; on another machine, use that API with a token instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from stockade.cli.configured import ConfigFile, Overrides, command_config
from stockade.cli.platform import DataDir, StoreId, StoreLocation
from stockade.errors import UsageError

if TYPE_CHECKING:  # imported when the command runs: keeps `stockade --help` fast
    from stockade.config import StockadeConfig
    from stockade.hunt.engine import HuntQuery, HuntResult

HUNT_FLAGS = {  # parameter -> configuration key (the servers' own keys: one fleet, one file)
    "data_dir": "data_dir",
    "store": "server.store",
    "store_location": "server.store_location",
}


def hunt_command(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="One SELECT over the hunt views")],
    since: Annotated[float, typer.Option(help="Window start, hours ago (events, alerts)")] = 24,
    until: Annotated[float, typer.Option(help="Window end, hours ago")] = 0,
    limit: Annotated[int, typer.Option(help="Most rows printed")] = 1000,
    timeout: Annotated[float, typer.Option(help="Time limit of the query, s")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    config: ConfigFile = None,
    option: Overrides = None,
    data_dir: DataDir = None,
    store: StoreId = "sqlite",
    store_location: StoreLocation = "",
) -> None:
    """Hunt: run a read-only SELECT over stored events, alerts, containers and inventory."""
    from stockade.hunt.engine import HuntError, HuntQuery

    settings = command_config(
        ctx,
        config,
        option,
        HUNT_FLAGS,
        data_dir=data_dir,
        store=store,
        store_location=store_location,
    )
    now = time.time_ns()
    hours = 3600 * 10**9
    query = HuntQuery(sql, int(now - since * hours), int(now - until * hours), limit, timeout)
    try:
        result = run_configured_hunt(settings, query, now)
    except HuntError as e:
        raise UsageError(str(e)) from None
    if as_json:
        typer.echo(json.dumps({"columns": result.columns, "rows": result.rows}))
        return
    typer.echo("\t".join(result.columns))
    for row in result.rows:
        typer.echo("\t".join("" if v is None else str(v) for v in row))
    if result.truncated:
        typer.echo(f"(cut at {limit} rows)", err=True)


def run_configured_hunt(settings: StockadeConfig, query: HuntQuery, now: int) -> HuntResult:
    """Run the hunt on the configured store; UsageError in one line when it cannot be read."""
    from stockade.cli.datadir import PLATFORM_DB, platform_dir
    from stockade.hunt.source import SqliteHuntSource
    from stockade.platform.backends import open_store
    from stockade.platform.errors import PlatformConfigError
    from stockade.platform.store import StoreError
    from stockade.platform.store.hunting import hunting_of

    section = settings.server
    if section.store == "sqlite":  # the file read-only: opening the store would write to it
        database = Path(section.store_location) if section.store_location else None
        database = database or platform_dir(_path(settings.data_dir)) / PLATFORM_DB
        if not database.is_file():
            raise UsageError(f"no platform database at {database} (see --data-dir)")
        return SqliteHuntSource(database).run(query, now)
    try:
        opened = open_store(section.store, section.store_location)
    except (PlatformConfigError, StoreError) as e:
        raise UsageError(f"hunt: cannot open the store: {e}") from None
    try:
        return hunting_of(opened).source.run(query, now)
    except StoreError as e:
        raise UsageError(f"hunt: {e}") from None
    finally:
        opened.close()


def _path(value: str) -> Path | None:
    return Path(value) if value else None


def register(app: typer.Typer) -> None:
    """Add `stockade hunt` to the top-level app."""
    app.command("hunt")(hunt_command)
