"""Entry point of the `stockade` command: each capability's module registers its commands.

A command's module is imported (and its signatures turned into options) only when that
command runs: importing and converting them all costs more than starting Python does.
Help, completion and unknown names load every module, so a command added to a module's
`register` shows up even before COMMAND_MODULES names it.

Every command's errors end here: a `StockadeError` (bad input, an unusable environment)
becomes one line on stderr and the error's exit status; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import typer
import typer.main
from typer.core import TyperGroup

import stockade
from stockade.errors import StockadeError

if TYPE_CHECKING:
    from typer._click import Command, Context  # typer vendors click

COMMAND_MODULES = {  # top-level name -> the module whose `register` adds it
    "agent": "agent",
    "replay": "agent",
    "baseline": "baseline",
    "db": "db",
    "doctor": "doctor",
    "hunt": "hunt",
    "server": "platform",
    "token": "platform",
    "rules": "rules",
    "watch": "rules",
    "scan": "scan",
    "sensor": "sensor",
    "up": "up",
    "user": "users",
    "worker": "worker",
}
MODULES = tuple(dict.fromkeys(COMMAND_MODULES.values()))  # each cli module once, in order


def registered_commands(modules: Iterable[str]) -> dict[str, Command]:
    """The top-level commands the `register` of each named cli module adds, in order."""
    app = typer.Typer()
    for module in modules:
        importlib.import_module(f"stockade.cli.{module}").register(app)
    return dict(typer.main.get_group(app).commands)


def report(error: StockadeError) -> NoReturn:
    """Print `error` as one line on stderr and exit with its status."""
    message = " ".join(line.strip() for line in str(error).splitlines())  # quoted tool output
    typer.echo(f"stockade: error: {message}", err=True)
    raise typer.Exit(error.exit_code)


class LazyCommandGroup(TyperGroup):
    """The top-level group: builds a module's commands the first time one is asked for."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._own = list(self.commands)  # defined in this module (`version`): listed first

    def _load(self, modules: Iterable[str]) -> list[str]:
        loaded = registered_commands(modules)
        for name, command in loaded.items():
            self.commands.setdefault(name, command)
        return list(loaded)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        """The command `cmd_name`, importing only the module that registers it."""
        if cmd_name not in self.commands:
            module = COMMAND_MODULES.get(cmd_name)
            self._load((module,) if module else MODULES)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: Context) -> Any:
        """Run the command; a StockadeError becomes `stockade: error: ...` and its exit status."""
        try:
            return super().invoke(ctx)
        except StockadeError as e:
            report(e)

    def list_commands(self, ctx: Context) -> list[str]:
        """Every command, in the order the modules register them."""
        order = [*self._own, *self._load(MODULES)]
        return sorted(super().list_commands(ctx), key=order.index)


app = typer.Typer(
    cls=LazyCommandGroup,
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
