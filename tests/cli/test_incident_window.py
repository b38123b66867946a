"""The platform's incident window comes from the `server` section (flag, file, -o)."""

from __future__ import annotations

from pathlib import Path

from stockade.cli.platform import platform_config
from stockade.config.model import ServerSection, StockadeConfig


def test_window_in_minutes_becomes_the_platforms_seconds(tmp_path: Path) -> None:
    default = platform_config(StockadeConfig(data_dir=str(tmp_path)))
    assert default.incident_window_s == 30 * 60
    settings = StockadeConfig(data_dir=str(tmp_path), server=ServerSection(incident_window_min=2.5))
    assert platform_config(settings).incident_window_s == 150
