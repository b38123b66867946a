"""Workload groups' pod selectors (migration 19) beside the store's tables, SQLite or PostgreSQL."""

from __future__ import annotations

import msgspec

from stockade.platform.store.sql import Database
from stockade.profiles.selectors import PodSelector, common

_decode = msgspec.json.Decoder(PodSelector).decode


class SqliteGroupSelectors:
    """`GroupSelectorStore` on the store's connections (SQLite's or PostgreSQL's)."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def merge_selector(self, group_id: str, selector: PodSelector) -> None:
        """Keep what this sighting has in common with the ones before (the first: all)."""
        with self._store.transaction() as conn:
            row = conn.execute(
                "SELECT selector FROM group_selectors WHERE group_id = ?", (group_id,)
            ).fetchone()
            merged = common(_decode(row[0]), selector) if row else selector
            text = msgspec.json.encode(merged).decode()
            if row and row[0] == text:
                return
            conn.execute(
                "INSERT INTO group_selectors VALUES (?, ?) "
                "ON CONFLICT (group_id) DO UPDATE SET selector = excluded.selector",
                (group_id, text),
            )

    def selectors(self) -> dict[str, PodSelector]:
        """Every group's selector, by group id."""
        rows = self._store.connection().execute("SELECT group_id, selector FROM group_selectors")
        return {group: _decode(text) for group, text in rows}
