"""How long a new workload group learns comes from the `server` section (file, -o)."""

from __future__ import annotations

from pathlib import Path

from stockade.cli.platform import platform_config
from stockade.config.model import ServerSection, StockadeConfig


def test_discover_minutes_reach_the_platform(tmp_path: Path) -> None:
    assert platform_config(StockadeConfig(data_dir=str(tmp_path))).profile_discover_minutes == 60
    section = ServerSection(profile_discover_min=5)
    settings = StockadeConfig(data_dir=str(tmp_path), server=section)
    assert platform_config(settings).profile_discover_minutes == 5
