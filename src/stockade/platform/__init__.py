"""The Stockade platform: ingest, store, API and web console (see DESIGN.md)."""

from __future__ import annotations

from stockade.platform.errors import PlatformConfigError, PlatformError
from stockade.platform.server import Platform, PlatformConfig

__all__ = ["Platform", "PlatformConfig", "PlatformConfigError", "PlatformError"]
