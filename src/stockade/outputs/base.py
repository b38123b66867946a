"""The `Output` interface every alert output implements, and its registry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stockade.errors import StockadeError
from stockade.model import Alert
from stockade.outputs.settings import OutputSettings
from stockade.registry import Registry


class OutputError(StockadeError):
    """An output cannot be set up (bad settings, a file or program that cannot be opened)."""


class DeliveryError(OutputError):
    """A send failed; the first `delivered` of the payloads not yet confirmed did arrive."""

    def __init__(self, message: str, delivered: int = 0) -> None:
        super().__init__(message)
        self.delivered = delivered


@dataclass
class OutputStats:
    """What an output did: alerts sent, queued, refused (with why), failed attempts."""

    sent: int = 0
    queued: int = 0
    dropped: int = 0  # refused by a full queue: each counted and logged, never silent
    retries: int = 0


class Output(Protocol):
    """Sends alerts somewhere; `emit` never blocks on the receiver."""

    name: str

    def emit(self, alerts: Sequence[Alert]) -> None:
        """Accept `alerts` for delivery, in order."""

    def stats(self) -> OutputStats:
        """Counts so far."""

    def close(self) -> None:
        """Deliver what can be delivered within the drain timeout, then release resources."""


@dataclass(frozen=True)
class OutputContext:
    """What a factory builds its output from: the settings and where its queue lives."""

    settings: OutputSettings
    queue_dir: Path  # each network output keeps its queue in a directory below it


class OutputFactory(Protocol):
    """Builds one output when its section is enabled; None when it is not."""

    def __call__(self, context: OutputContext) -> Output | None:
        """The output, or None when the settings leave it off."""


OUTPUTS: Registry[OutputFactory] = Registry("alert output")


def require(value: str, key: str) -> str:
    """`value`, or OutputError naming the configuration `key` an enabled output needs."""
    if not value:
        raise OutputError(f"{key} is required when the output is enabled")
    return value
