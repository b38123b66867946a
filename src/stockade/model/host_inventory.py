"""The host inventory on the wire: per-table differences an agent sends the platform."""

from __future__ import annotations

import msgspec

INVENTORY_PATH = "/api/v1/agent/inventory"


class TableDiff(msgspec.Struct, kw_only=True):
    """Rows (JSON objects with osquery's column names) added to and removed from a table."""

    table: str
    added: list[msgspec.Raw] = msgspec.field(default_factory=list)
    removed: list[msgspec.Raw] = msgspec.field(default_factory=list)


class InventoryDiff(msgspec.Struct, kw_only=True):
    """One collection's changes; `full` replaces the tables named with the rows added."""

    host_id: str
    collected_at: int  # ns since the epoch
    full: bool = False
    tables: list[TableDiff] = msgspec.field(default_factory=list)
