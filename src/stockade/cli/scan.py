"""Image and filesystem scanning (sub-app `stockade scan`), and `python -m stockade.cli.scan`.

The typer commands live in `scan_commands.py`, loaded when typer asks for them
(`register`). Run as a module, a plain command line (`scan_options.parse_plain`) is
scanned without typer or click; any other is handed to the main app, which answers it as
`stockade scan ...` would.
"""

from __future__ import annotations

import errno
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from stockade.cli.scan_options import COMPLETION_VARIABLE, BadValue, PlainCommand, parse_plain
from stockade.errors import StockadeError

if TYPE_CHECKING:
    import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
    from stockade.cli.scan_commands import scan_app

    app.add_typer(scan_app, name="scan")


def run_with_typer(args: list[str], prog_name: str | None) -> None:
    """`stockade scan ARGS` through the main typer app (help, errors and all); click
    finds the program's name itself when `prog_name` is None."""
    from stockade.cli.main import app

    app(["scan", *args], prog_name=prog_name)


BAD_VALUE = -1  # `run_plain`'s status for a wrong value: nothing was scanned


def run_plain(plain: PlainCommand) -> int:
    """Scan as the typer command would, with its error lines: the exit status, or
    BAD_VALUE when typer must report a wrong value (with the usage)."""
    from stockade.cli.scan_run import run_scan

    subject = plain.subject if plain.command == "image" else Path(plain.subject)
    try:
        return run_scan(plain.command, subject, plain.values)
    except BadValue:
        return BAD_VALUE
    except StockadeError as e:  # as the main app reports it (`stockade.cli.main.report`)
        message = " ".join(line.strip() for line in str(e).splitlines())
        sys.stderr.write(f"stockade: error: {message}\n")
        sys.stderr.flush()
        return e.exit_code


def main(args: list[str], prog_name: str | None = "stockade") -> None:
    """`stockade scan ARGS`: exits with the command's status (`prog_name` as for typer)."""
    plain = parse_plain(args) if COMPLETION_VARIABLE not in os.environ else None
    if plain is None:
        run_with_typer(args, prog_name)
        return
    # no cyclic collection from here on: importing the scanner makes ~100k objects and no
    # garbage, and the collector walked them again and again (~4 M instructions); the
    # scan itself runs with it paused anyway (`scan_run._collector_paused`)
    gc.disable()
    try:
        status = run_plain(plain)
    except (EOFError, KeyboardInterrupt):  # as click's standalone mode ends them
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    except OSError as e:
        if e.errno != errno.EPIPE:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        sys.exit(1)
    if status == BAD_VALUE:
        gc.enable()
        run_with_typer(args, prog_name)
        return
    sys.exit(status)


if __name__ == "__main__":
    # the main app would otherwise import this module a second time
    sys.modules.setdefault("stockade.cli.scan", sys.modules[__name__])
    main(sys.argv[1:])
