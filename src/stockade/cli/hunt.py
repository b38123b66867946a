"""`stockade hunt "SELECT ..."`: one read-only query over the platform's data dir.

It reads the platform's SQLite file directly (read-only, so it is safe while the server
runs); on another machine, use `POST /api/v1/hunt` with a token instead.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from stockade.cli.platform import DataDir
from stockade.errors import UsageError


def hunt_command(
    sql: Annotated[str, typer.Argument(help="One SELECT over the hunt views")],
    since: Annotated[float, typer.Option(help="Window start, hours ago (events, alerts)")] = 24,
    until: Annotated[float, typer.Option(help="Window end, hours ago")] = 0,
    limit: Annotated[int, typer.Option(help="Most rows printed")] = 1000,
    timeout: Annotated[float, typer.Option(help="Time limit of the query, s")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """Hunt: run a read-only SELECT over stored events, alerts, containers and inventory."""
    from stockade.cli.datadir import PLATFORM_DB, platform_dir
    from stockade.hunt.engine import HuntError, HuntQuery, run_hunt

    database = platform_dir(data_dir) / PLATFORM_DB
    if not database.is_file():
        raise UsageError(f"no platform database at {database} (see --data-dir)")
    now = time.time_ns()
    hours = 3600 * 10**9
    query = HuntQuery(sql, int(now - since * hours), int(now - until * hours), limit, timeout)
    try:
        result = run_hunt(database, query, now)
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


def register(app: typer.Typer) -> None:
    """Add `stockade hunt` to the top-level app."""
    app.command("hunt")(hunt_command)
