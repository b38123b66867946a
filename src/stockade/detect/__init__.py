"""Detectors: rules on single events, correlation, learned profiles, drift."""

from __future__ import annotations

from stockade.detect.base import (
    DETECTORS,
    DetectError,
    Detector,
    DetectorConfig,
    DetectorConfigError,
    build_detectors,
)

__all__ = [
    "DETECTORS",
    "DetectError",
    "Detector",
    "DetectorConfig",
    "DetectorConfigError",
    "build_detectors",
]
