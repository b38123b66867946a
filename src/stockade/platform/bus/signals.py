"""Signals between API nodes: "something changed for KEY", told to every node of the fleet.

A signal carries no data, only a topic and a key (an agent id, an action id); a node that
hears it reads what changed from the shared store. They are a wake-up, never the record:
one lost (the bus down for a moment) costs only the time until the next read anyway, so
they go best-effort (core NATS publish, no stream). Every node hears its own signals too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Protocol, runtime_checkable

SIGNALS = "stockade.signals"
"""Subject prefix of signals on a shared bus: `stockade.signals.<topic>`, the key as payload."""

SignalHandler = Callable[[str], None]  # the key; runs on the node's event loop, must not block


@runtime_checkable
class Signals(Protocol):
    """Fan-out of wake-ups to every API node (this one included)."""

    async def listen(self, topic: str, handler: SignalHandler) -> None:
        """Call `handler(key)` for every signal on `topic` from now on; BusError when the
        bus cannot be reached."""

    async def signal(self, topic: str, key: str) -> None:
        """Tell every node's listeners of `topic` about `key`; BusError when not sent."""


class LocalSignals:
    """Signals inside one process: `signal` calls the listeners at once."""

    def __init__(self) -> None:
        self._listeners: defaultdict[str, list[SignalHandler]] = defaultdict(list)

    async def listen(self, topic: str, handler: SignalHandler) -> None:
        """Call `handler(key)` for every later signal on `topic`."""
        self._listeners[topic].append(handler)

    async def signal(self, topic: str, key: str) -> None:
        """Call each listener of `topic` with `key`."""
        for handler in self._listeners.get(topic, ()):
            handler(key)
