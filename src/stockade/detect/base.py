"""The `Detector` interface, what detectors are built from, and their registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from stockade.errors import StockadeError
from stockade.model import Alert, Event
from stockade.registry import Registry


class DetectError(StockadeError):
    """Base error of the detect package."""


class DetectorConfigError(DetectError):
    """A detector cannot be built from its configuration (e.g. its rules do not load)."""


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """What every detector is built from (each reads the parts it needs)."""

    rule_paths: tuple[Path, ...] = ()  # rule files; empty: Stockade's default rules
    # correlation files; empty: the `correlations/` directory beside the rule files
    correlation_paths: tuple[Path, ...] = ()


class Detector(Protocol):
    """Looks at one event (with context) and returns the alerts it raises."""

    def inspect(self, event: Event) -> list[Alert]:
        """Alerts for this event; an empty list when nothing matched."""
        ...

    def event_types(self) -> frozenset[str] | None:
        """The event types (Falco's names, any syscall's included) this detector can match;
        None when it may match any."""
        ...


@runtime_checkable
class FdKindsAware(Protocol):
    """A detector that can tell on which descriptors an event type's events may match it."""

    def fd_kinds(self, event_type: str) -> frozenset[str] | None:
        """The fd.typechar values an `event_type` event must have to match; None: any."""
        ...


DetectorFactory = Callable[[DetectorConfig], Detector]
DETECTORS: Registry[DetectorFactory] = Registry("detector")


def build_detectors(ids: Iterable[str], config: DetectorConfig) -> list[Detector]:
    """One detector per registered id, each built from `config`."""
    built = []
    for detector_id in ids:
        if detector_id not in DETECTORS:
            raise DetectorConfigError(DETECTORS.unknown(detector_id))
        built.append(DETECTORS.get(detector_id)(config))
    return built
