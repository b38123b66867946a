"""Tools for running Stockade as a fleet: simulated agents that load a platform."""

from __future__ import annotations
