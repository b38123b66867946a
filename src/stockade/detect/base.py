"""The `Detector` interface and its registry."""

from __future__ import annotations

from typing import Protocol

from stockade.model import Alert, Event
from stockade.registry import Registry


class Detector(Protocol):
    """Looks at one event (with context) and returns the alerts it raises."""

    def inspect(self, event: Event) -> list[Alert]:
        """Alerts for this event; an empty list when nothing matched."""
        ...


DETECTORS: Registry[type[Detector]] = Registry("detector")
