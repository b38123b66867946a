"""The `stockade` command's real subcommands and options, read from its typer app."""

from __future__ import annotations

from typing import Any

import pytest

from stockade.cli.main import MODULES, registered_commands


def command(*path: str) -> Any | None:
    """The command at `path` (e.g. ("token", "create")), or None if there is none."""
    commands: dict[str, Any] = registered_commands(MODULES)
    found: Any = None
    for name in path:
        found = commands.get(name)
        if found is None:
            return None
        commands = getattr(found, "commands", {})  # a group's subcommands
    return found


def options(*path: str) -> set[str]:
    """Every option string (`--port`, `-o`, `--no-scan-images`) of the command at `path`."""
    found = command(*path)
    assert found is not None, f"`stockade {' '.join(path)}` is no command"
    return {
        name
        for param in found.params
        if param.param_type_name == "option"
        for name in (*param.opts, *param.secondary_opts)
    }


def unknown_options(path: tuple[str, ...], args: list[str]) -> list[str]:
    """The options in `args` (`--x` or `--x=v`) that the command at `path` does not take."""
    known = options(*path)
    return [a for a in args if a.startswith("-") and a.split("=", 1)[0] not in known]


def command_missing(*path: str) -> bool:
    """Whether the command at `path` is not (yet) part of `stockade`."""
    return command(*path) is None


# A fleet's worker command is being built beside these files: checks of the files that run
# it are expected to fail until it exists, then hold as every other.
WORKER_PENDING = pytest.mark.xfail(
    command_missing("worker"), reason="`stockade worker` is not built yet", strict=True
)


def nats_bus_missing() -> bool:
    """Whether no bus named `nats` is registered (yet)."""
    from stockade.platform.bus.base import BUSES

    return "nats" not in BUSES


NATS_PENDING = pytest.mark.xfail(
    nats_bus_missing(), reason="the `nats` bus is not built yet", strict=True
)
