"""The actors of a decode without a context stage: the sensor's Process as it is.

`RecordDecoder` builds every event with the parts an `ActorContext` gives for its actor;
this one gives the raw event's own (no ancestors, the host container, no host id), so a
plain decode builds the very events it always did.
"""

from __future__ import annotations

from stockade.model import Event, Process
from stockade.sensor.base import Actor
from stockade.sensor.bpf.decoder_kinds import HOST

_CACHE_MAX = 65_536


class RawActors:
    """An `ActorContext` that completes nothing (for a decode without a context stage)."""

    def __init__(self) -> None:
        self._known: dict[int, Actor] = {}

    def enrich(self, event: Event) -> Event:
        """The event unchanged."""
        return event

    def known_actors(self) -> dict[int, Actor]:
        """The raw parts given so far, by id of the Process."""
        return self._known

    def actor(self, raw: Process) -> Actor:
        """The raw event's own parts: `raw`, no ancestors, the host, no host id."""
        if len(self._known) >= _CACHE_MAX:
            self._known.clear()
        found = self._known[id(raw)] = (raw, raw, (), HOST, "")  # holding raw keeps its id
        return found
