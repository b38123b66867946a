"""Where Stockade keeps state: one data root, with `platform/` and `agent/` below.

Every command's `--data-dir` names that root, so `stockade token create --data-dir D`
writes to the database `stockade up --data-dir D` and `stockade server --data-dir D` serve.
"""

from __future__ import annotations

import os
from pathlib import Path

from stockade.errors import UsageError

PLATFORM_DB = "stockade.db"  # the platform's SQLite file, directly in its directory


def default_data_root() -> Path:
    """/var/lib/stockade for root, else $XDG_DATA_HOME/stockade (~/.local/share/stockade)."""
    if os.geteuid() == 0:
        return Path("/var/lib/stockade")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stockade"


def platform_dir(data_root: Path | None) -> Path:
    """The platform's state under `data_root` (None: the default root)."""
    root = data_root or default_data_root()
    if (root / PLATFORM_DB).is_file() and not (root / "platform").exists():
        raise UsageError(
            f"{root} holds a platform's state directly, but --data-dir names the data root "
            f"(the platform's state in platform/, the agent's in agent/): move its files "
            f"into {root / 'platform'}"
        )
    return root / "platform"


def agent_dir(data_root: Path | None) -> Path:
    """The local agent's state under `data_root` (None: the default root)."""
    return (data_root or default_data_root()) / "agent"
