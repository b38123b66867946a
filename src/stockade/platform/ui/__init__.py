"""The web console: static HTML, CSS and vanilla JS served by the platform (no build step)."""

from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
