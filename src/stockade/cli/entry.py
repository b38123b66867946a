"""The `stockade` command (and `python -m stockade.cli`): a plain scan skips typer.

`stockade scan ...` goes to `cli/scan.py`, which scans a plain command line without
importing typer or click and hands any other to the main app; every other command goes
to the main typer app (`cli/main.py`) directly. Click names the program as before.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command `sys.argv` names."""
    args = sys.argv[1:]
    if args[:1] == ["scan"]:
        from stockade.cli.scan import main as scan

        scan(args[1:], prog_name=None)
        return
    from stockade.cli.main import app

    app()
