"""The configuration file (`--config`) with its overrides: environment, `-o`, flags."""

from __future__ import annotations

from stockade.config.load import DEFAULT_PATH, ConfigError, ConfigSources, load_config
from stockade.config.model import StockadeConfig

__all__ = ["DEFAULT_PATH", "ConfigError", "ConfigSources", "StockadeConfig", "load_config"]
