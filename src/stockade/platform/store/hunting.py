"""What a store gives hunting: where hunts run (`HuntSource`) and its saved hunts.

A store that can be hunted has `hunting()`; `hunting_of` asks any store for it and says
clearly when it cannot (an in-memory SQLite store, a store of another kind)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from stockade.hunt.source import HuntSource
from stockade.platform.store.base import StoreError
from stockade.platform.store.sqlite_hunts import SavedHunts


class HuntingUnavailable(StoreError):
    """This store cannot be hunted (the message says why)."""


@dataclass(frozen=True)
class Hunting:
    """A store's hunting: where hunts run, and the saved hunts kept in it."""

    source: HuntSource
    saved: SavedHunts


@runtime_checkable
class HuntingStore(Protocol):
    """A store hunts can read."""

    def hunting(self) -> Hunting:
        """Its hunting; HuntingUnavailable when it cannot be hunted."""
        ...


def hunting_of(store: object) -> Hunting:
    """The store's hunting; HuntingUnavailable when it has none."""
    if not isinstance(store, HuntingStore):
        raise HuntingUnavailable(f"hunting needs a SQLite or PostgreSQL store, not {store!r}")
    return store.hunting()
