"""Detectors: rules on single events, correlation, learned profiles, drift."""

from __future__ import annotations

from stockade.detect.base import DETECTORS, Detector

__all__ = ["DETECTORS", "Detector"]
