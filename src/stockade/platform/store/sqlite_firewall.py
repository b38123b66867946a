"""The container firewall in the store: flows merged by key, allow rules by id.

One implementation for SQLite and PostgreSQL. Each write is one statement per row (an
upsert, `INSERT OR IGNORE`), so platform processes adding the same flow or rule at once
add up or keep one, with no read before the write.
"""

from __future__ import annotations

from collections.abc import Iterable

from stockade.firewall.allowlist import AllowRule
from stockade.firewall.flows import Flow
from stockade.platform.store.sql import Database

_FLOW_COLUMNS = "src_kind, src, dst_kind, dst, port, protocol, count, first_ns, last_ns"
_RULE_COLUMNS = "src_kind, src, dst_kind, dst, port, protocol, origin"


class SqliteFirewall:
    """Flows and allow rules kept in the store's own database (SQLite's or PostgreSQL's)."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def add_flows(self, flows: Iterable[Flow], violations: Iterable[bool]) -> int:
        """Merge flows into the stored ones (counts added, times widened); returns how many."""
        rows = [
            (*(f.src_kind, f.src, f.dst_kind, f.dst, f.port, f.protocol, f.count), f.first_ns,
             f.last_ns, int(bad))
            for f, bad in zip(flows, violations, strict=True)
        ]  # fmt: skip
        with self._store.transaction() as conn:
            conn.executemany(
                f"INSERT INTO firewall_flows ({_FLOW_COLUMNS}, violations) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (src_kind, src, dst_kind, dst, port, protocol) DO UPDATE SET "
                "count = count + excluded.count, first_ns = min(first_ns, excluded.first_ns), "
                "last_ns = max(last_ns, excluded.last_ns), "
                "violations = violations + excluded.violations",
                rows,
            )
        return len(rows)

    def flows(self, group: str | None = None, limit: int = 5000) -> list[tuple[Flow, int]]:
        """Stored flows (with their violation counts), those touching `group` if given."""
        where, args = ("WHERE src = ? OR dst = ?", [group, group]) if group else ("", [])
        rows = self._store.connection().execute(
            f"SELECT {_FLOW_COLUMNS}, violations FROM firewall_flows {where} "
            "ORDER BY src, dst, port, protocol LIMIT ?",
            (*args, limit),
        )
        return [
            (
                Flow(src_kind=r[0], src=r[1], dst_kind=r[2], dst=r[3], port=r[4], protocol=r[5],
                     count=r[6], first_ns=r[7], last_ns=r[8]),
                int(r[9]),
            )
            for r in rows
        ]  # fmt: skip

    def put_rules(self, rules: Iterable[AllowRule], created_at: int, created_by: str) -> int:
        """Add rules (a rule already there is kept as it was); returns how many were new."""
        rows = [
            (r.id, r.src_kind, r.src, r.dst_kind, r.dst, r.port, r.protocol, r.origin,
             created_at, created_by)
            for r in rules
        ]  # fmt: skip
        with self._store.transaction() as conn:
            cursor = conn.executemany(
                f"INSERT OR IGNORE INTO firewall_rules (id, {_RULE_COLUMNS}, created_at, "
                "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return cursor.rowcount

    def rules(self) -> list[tuple[AllowRule, int, str]]:
        """Every allow rule with when and by whom it was made."""
        rows = self._store.connection().execute(
            f"SELECT {_RULE_COLUMNS}, created_at, created_by FROM firewall_rules "
            "ORDER BY src, dst, port, protocol"
        )
        return [
            (
                AllowRule(src_kind=r[0], src=r[1], dst_kind=r[2], dst=r[3], port=r[4],
                          protocol=r[5], origin=r[6]),
                int(r[7]),
                str(r[8]),
            )
            for r in rows
        ]  # fmt: skip

    def delete_rule(self, rule_id: str) -> bool:
        """Remove one rule; False if there was none with this id."""
        with self._store.transaction() as conn:
            return conn.execute("DELETE FROM firewall_rules WHERE id = ?", (rule_id,)).rowcount > 0
