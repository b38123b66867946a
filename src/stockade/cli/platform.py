"""Commands for the platform: `stockade server`, `stockade token create`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level app."""
