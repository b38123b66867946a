"""The options every long-running command shares: `--config FILE` and `-o key=value`.

A command's configuration is built in this order, each layer overriding the one before:
the model's defaults, the file, `STOCKADE_*` variables, `-o key=value`, and last the
flags given on the command line (a flag left at its default overrides nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # imported when a command runs: keeps `stockade --help` fast
    from stockade.config import StockadeConfig

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="Configuration file (default: $STOCKADE_CONFIG, else /etc/stockade/stockade.yaml "
        "when it exists).",
    ),
]
Overrides = Annotated[
    list[str] | None,
    typer.Option(
        "-o",
        "--option",
        metavar="KEY=VALUE",
        help="Set a configuration key, as Falco's -o (repeatable; a.b=v, list[]=v appends).",
    ),
]


def _plain(value: Any) -> Any:
    """A flag's value as the configuration holds it (paths as text)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def explicit_flags(
    ctx: typer.Context, keys: Mapping[str, str], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Dotted key -> value of each flag given on the command line (`keys`: parameter -> key,
    `values`: parameter -> the value the command received)."""
    from typer._click.core import ParameterSource

    return {
        keys[param]: _plain(value)
        for param, value in values.items()
        if ctx.get_parameter_source(param) is ParameterSource.COMMANDLINE
    }


def command_config(
    ctx: typer.Context,
    config: Path | None,
    overrides: Sequence[str] | None,
    keys: Mapping[str, str],
    **flags: Any,
) -> StockadeConfig:
    """The command's configuration: defaults < file < environment < -o < explicit flags.

    `flags` are the command's parameters named in `keys` (parameter -> configuration key).
    """
    from stockade.config import ConfigSources, load_config

    explicit = explicit_flags(ctx, keys, flags)
    return load_config(ConfigSources(config, tuple(overrides or ()), explicit))
