"""Entry point of the `stockade` command: each capability's module registers its commands."""

from __future__ import annotations

import typer

import stockade
from stockade.cli import agent, db, doctor, platform, rules, scan, sensor, up

app = typer.Typer(
    help="Stockade: container-aware EDR and container security.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Stockade: container-aware EDR and container security."""


@app.command()
def version() -> None:
    """Print Stockade's version."""
    typer.echo(f"stockade {stockade.__version__}")


for _module in (agent, db, doctor, platform, rules, scan, sensor, up):
    _module.register(app)
