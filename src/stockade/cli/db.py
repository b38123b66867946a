"""Commands for the vulnerability database (sub-app `stockade db`)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated

import typer

from stockade.scan.locations import DEFAULT_VULNDB_PATH

db_app = typer.Typer(help="The local vulnerability database (offline at scan time).")

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db", help=f"Database file [default: {DEFAULT_VULNDB_PATH}]", show_default=False
    ),
]


@db_app.command("import")
def import_command(
    location: Annotated[str, typer.Argument(help="Directory, JSON/YAML file, zip/tar or URL")],
    db: DbOption = None,
) -> None:
    """Import advisories (OSV, Debian tracker, Alpine secdb, Node.js security-wg)."""
    from stockade.cli.import_progress import import_progress
    from stockade.scan.vulndb import import_location, open_db

    started = time.perf_counter()
    database = open_db(db, create=True)
    try:
        with import_progress() as progress:
            report = import_location(database, location, progress)
    finally:
        database.close()
    formats = ", ".join(f"{name} {count}" for name, count in sorted(report.formats.items()))
    typer.echo(f"imported {report.advisories} advisories from {report.files} files ({formats})")
    typer.echo(f"source: {report.location}")
    typer.echo(f"database: {database.path}")
    typer.echo(f"seconds: {time.perf_counter() - started:.1f}")
    if report.skipped:
        typer.echo(f"skipped {len(report.skipped)} files:", err=True)
        for line in report.skipped[:20]:
            typer.echo(f"  {line}", err=True)


@db_app.command("status")
def status_command(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Show imported sources, advisories per ecosystem and the last import time."""
    from stockade.scan.vulndb import open_db

    database = open_db(db)
    sources, counts = database.sources(), database.counts_by_ecosystem()
    database.close()
    last = max((s.imported_at for s in sources), default="")
    if as_json:
        doc = {
            "database": str(database.path),
            "last_import": last,
            "sources": [dataclasses.asdict(s) for s in sources],
            "ecosystems": counts,
        }
        import json

        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo(f"database: {database.path}")
    typer.echo(f"last import: {last or 'never'}")
    for source in sources:
        typer.echo(
            f"source: {source.location} ({source.formats}) "
            f"{source.advisories} advisories, imported {source.imported_at}"
        )
    for ecosystem, count in sorted(counts.items()):
        typer.echo(f"ecosystem: {ecosystem} {count}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    app.add_typer(db_app, name="db")
