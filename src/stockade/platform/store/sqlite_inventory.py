"""Host inventories in SQLite: each host's current rows per table, the history of rows
added and removed, and the per-host risk counts. `SqliteStore` takes these in as a mixin."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from stockade.model.host_inventory import InventoryDiff
from stockade.platform.store.sql import Connection

HISTORY_KEPT_PER_HOST = 100_000  # older changes are dropped past this many


@dataclass(frozen=True, slots=True)
class HostSummary:
    """A host the platform knows of, with its inventory's risk counts."""

    host_id: str
    hostname: str
    agent_id: str
    last_seen: int
    inventory_at: int  # ns of the last collection received; 0 before any
    open_ports: int
    suid_files: int
    packages: int


@dataclass(frozen=True, slots=True)
class InventoryPage:
    """One page of a host's table: the rows' JSON texts and how many there are in all."""

    rows: list[str]
    total: int


class InventoryStore(Protocol):
    """What the inventory's API and ingest need of the store."""

    def apply_inventory(self, agent_id: str, diff: InventoryDiff, now: int) -> int:
        """Apply one collection's differences; returns the rows changed."""
        ...

    def host_summaries(self) -> list[HostSummary]:
        """Every host with an enrolled agent, with its risk counts."""
        ...

    def inventory_tables(self, host_id: str) -> dict[str, int]:
        """Row counts of the host's tables."""
        ...

    def inventory_rows(self, host_id: str, table: str, offset: int, limit: int) -> InventoryPage:
        """A page of one table of one host, in a stable order."""
        ...

    def inventory_changes(
        self, host_id: str, limit: int, table: str | None = None
    ) -> list[tuple[int, str, str, str]]:
        """The host's latest changes (of one table if named), newest first."""
        ...


_COUNT = "SELECT COUNT(*) FROM host_inventory WHERE host_id = h.host_id AND table_name = '{}'"


class SqliteInventory:
    """The inventory's SQL, mixed into `SqliteStore` (which provides the connections)."""

    def _conn(self) -> Connection:
        raise NotImplementedError

    def _write(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def apply_inventory(self, agent_id: str, diff: InventoryDiff, now: int) -> int:
        """Apply one collection's differences; a full one replaces the tables it names."""
        changed = 0
        with self._write() as conn:
            for table in diff.tables:
                added = [bytes(r).decode() for r in table.added]
                removed = [bytes(r).decode() for r in table.removed]
                if diff.full:
                    conn.execute(
                        "DELETE FROM host_inventory WHERE host_id = ? AND table_name = ?",
                        (diff.host_id, table.table),
                    )
                else:
                    conn.executemany(
                        "DELETE FROM host_inventory WHERE host_id = ? AND table_name = ? "
                        "AND row = ?",
                        [(diff.host_id, table.table, r) for r in removed],
                    )
                    conn.executemany(
                        "INSERT INTO host_inventory_changes (host_id, table_name, change, row, at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [(diff.host_id, table.table, "removed", r, now) for r in removed]
                        + [(diff.host_id, table.table, "added", r, now) for r in added],
                    )
                conn.executemany(
                    "INSERT OR IGNORE INTO host_inventory VALUES (?, ?, ?, ?)",
                    [(diff.host_id, table.table, r, now) for r in added],
                )
                changed += len(added) + len(removed)
            conn.execute(
                "INSERT OR REPLACE INTO host_inventory_collections VALUES (?, ?, ?, ?)",
                (diff.host_id, agent_id, diff.collected_at, now),
            )
            conn.execute(
                "DELETE FROM host_inventory_changes WHERE host_id = ? AND id <= "
                "(SELECT id FROM host_inventory_changes WHERE host_id = ? "
                "ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (diff.host_id, diff.host_id, HISTORY_KEPT_PER_HOST),
            )
        return changed

    def host_summaries(self) -> list[HostSummary]:
        """Every host with an enrolled agent (its newest), with its risk counts."""
        rows = self._conn().execute(
            "SELECT h.host_id, h.hostname, h.id, h.last_seen, "
            "COALESCE((SELECT collected_at FROM host_inventory_collections c "
            "WHERE c.host_id = h.host_id), 0), "
            f"({_COUNT.format('listening_ports')}), ({_COUNT.format('suid_bin')}), "
            f"({_COUNT.format('deb_packages')}) + ({_COUNT.format('rpm_packages')}) "
            f"+ ({_COUNT.format('apk_packages')}) "
            "FROM agents h WHERE h.revoked_at IS NULL "
            "AND h.enrolled_at = (SELECT MAX(enrolled_at) FROM agents a "
            "WHERE a.host_id = h.host_id AND a.revoked_at IS NULL) "
            "ORDER BY h.hostname, h.host_id"
        )
        return [HostSummary(*row) for row in rows]

    def inventory_tables(self, host_id: str) -> dict[str, int]:
        """Row counts of the host's tables."""
        rows = self._conn().execute(
            "SELECT table_name, COUNT(*) FROM host_inventory WHERE host_id = ? "
            "GROUP BY table_name ORDER BY table_name",
            (host_id,),
        )
        return dict(rows.fetchall())

    def inventory_rows(self, host_id: str, table: str, offset: int, limit: int) -> InventoryPage:
        """A page of one table of one host, ordered by the rows' text."""
        conn = self._conn()
        total = conn.execute(
            "SELECT COUNT(*) FROM host_inventory WHERE host_id = ? AND table_name = ?",
            (host_id, table),
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT row FROM host_inventory WHERE host_id = ? AND table_name = ? "
            "ORDER BY row LIMIT ? OFFSET ?",
            (host_id, table, limit, offset),
        )
        return InventoryPage([r[0] for r in rows], total)

    def inventory_changes(
        self, host_id: str, limit: int, table: str | None = None
    ) -> list[tuple[int, str, str, str]]:
        """The host's latest changes (of one table if named), newest first: (at, table,
        change, row)."""
        rows = self._conn().execute(
            "SELECT at, table_name, change, row FROM host_inventory_changes "
            "WHERE host_id = ? AND (? IS NULL OR table_name = ?) ORDER BY id DESC LIMIT ?",
            (host_id, table, table, limit),
        )
        return [(int(a), str(t), str(c), str(r)) for a, t, c, r in rows]
