"""Stores of each kind on one database, opened as separate platform processes would open
them (for the store-level tests that run on SQLite and PostgreSQL alike)."""

from __future__ import annotations

from stockade.platform.store import STORES, Store


class StoreOpener:
    """Opens any number of stores of one kind on one database; closes them all at the end."""

    def __init__(self, kind: str, location: str) -> None:
        self.kind = kind
        self._location = location
        self._opened: list[Store] = []

    def __call__(self) -> Store:
        """Another store on the database (its own connections, as another process has)."""
        self._opened.append(STORES.get(self.kind)(self._location))
        return self._opened[-1]

    def close(self) -> None:
        """Close every store opened."""
        for store in self._opened:
            store.close()
