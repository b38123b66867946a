"""Where Stockade keeps state by default: one root, with `platform/` and `agent/` below."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_root() -> Path:
    """/var/lib/stockade for root, else $XDG_DATA_HOME/stockade (~/.local/share/stockade)."""
    if os.geteuid() == 0:
        return Path("/var/lib/stockade")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stockade"
