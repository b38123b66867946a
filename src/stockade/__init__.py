"""Stockade: a container-aware EDR and container security platform."""

from __future__ import annotations

__version__ = "0.1.0"
