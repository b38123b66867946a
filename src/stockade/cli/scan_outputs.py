"""Where `stockade scan` writes: `-f FMT -o FILE` (Trivy), `-o FMT[=FILE]` repeated (Syft)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from stockade.cli.scan_options import BadValue
from stockade.errors import UsageError

TABLE = "table"  # the human view; every other format is a report writer (scan.output.WRITERS)


class Output(NamedTuple):  # not a dataclass: a third of the cost to define at start-up
    """One report to write: its format, and its file (None: standard output)."""

    fmt: str
    path: Path | None


def known_formats() -> list[str]:
    """The table and every registered report writer's name."""
    from stockade.scan.output import WRITERS

    return [TABLE, *WRITERS]


def check_format(fmt: str) -> None:
    """BadValue unless `fmt` is the table or a registered report writer."""
    known = known_formats()
    if fmt not in known:
        raise BadValue(f"unknown format {fmt!r}; choose one of {', '.join(known)}")


def _output(value: str, fmt: str, known: list[str]) -> Output:
    name, sep, file = value.partition("=")
    if sep and name in known:
        if not file:
            raise UsageError(f"-o {value}: no file after '='")
        return Output(name, Path(file))
    if value in known:
        return Output(value, None)
    return Output(fmt, Path(value))  # Trivy's meaning: a file for the -f format


def plan_outputs(fmt: str, outputs: Sequence[str]) -> list[Output]:
    """The reports asked for; each -o is FORMAT=FILE, FORMAT (to stdout) or FILE (in -f's format).

    Checked before the scan (a typo should not cost one): formats known, at most one report
    on standard output, every file's directory present.
    """
    check_format(fmt)
    known = known_formats()
    planned = [_output(value, fmt, known) for value in outputs] or [Output(fmt, None)]
    if sum(o.path is None for o in planned) > 1:
        raise UsageError("more than one report on standard output: give all but one a file")
    for output in planned:
        if output.path is not None and not output.path.absolute().parent.is_dir():
            raise UsageError(f"cannot write the report to {output.path}: no such directory")
    return planned
