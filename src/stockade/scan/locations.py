"""Default on-disk locations of the scanner (stdlib only: the CLI imports this at start-up)."""

from __future__ import annotations

from pathlib import Path

DEFAULT_CACHE_DIR = Path.home() / ".cache" / "stockade" / "scan"
DEFAULT_VULNDB_PATH = Path("~/.cache/stockade/vulndb.sqlite")  # expanded when opened
DEFAULT_IGNOREFILES = (".stockadeignore", ".stockadeignore.yaml")  # in the working directory
