"""The views a hunt sees: events and alerts inside its time window, containers, hosts, and
one view per inventory table named and shaped like osquery's (pure: SQL text out).

The same views serve SQLite (TEMP views with the window written in) and PostgreSQL (views
in a schema of their own, reading the window of the hunt's session from a table)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from stockade.host.table import TABLES

WINDOWED = ("events", "alerts")  # views limited to the hunt's time window


@dataclass(frozen=True, slots=True)
class ViewDialect:
    """What differs between the databases: where tables are, the window, JSON fields."""

    tables: str  # prefix of the stored tables ("main." on SQLite)
    since: str  # SQL of the window's start, ns
    until: str  # SQL of the window's end, ns
    json_text: str  # a JSON text's field: {column} and {key}
    json_raw: str  # a JSON text's field as JSON: {column} and {key}

    def field(self, column: str, key: str) -> str:
        """SQL of field `key` of the JSON text in `column`."""
        return self.json_text.format(column=column, key=key)


def sqlite_dialect(since: int, until: int) -> ViewDialect:
    """SQLite's views: the window written in as numbers."""
    extract = "json_extract({column}, '$.{key}')"
    return ViewDialect("main.", str(since), str(until), extract, extract)


def _events(d: ViewDialect) -> str:
    return (
        "SELECT ts AS time, host_id, agent_id, container_id, type AS evt_type, "
        f"proc_name, proc_pid, seq AS event_seq FROM {d.tables}events "
        f"WHERE ts >= {d.since} AND ts < {d.until}"
    )


def _alerts(d: ViewDialect) -> str:
    tags = d.json_raw.format(column="body", key="tags")
    return (
        "SELECT ts AS time, host_id, agent_id, container_id, rule, priority, priority_num, "
        "output, proc_name, proc_pid, proc_cmdline, type AS evt_type, "
        f"{tags} AS tags FROM {d.tables}alerts "
        f"WHERE ts >= {d.since} AND ts < {d.until}"
    )


def _fixed(d: ViewDialect) -> dict[str, str]:
    return {
        "containers": (
            "SELECT id AS container_id, name AS container_name, image AS container_image, "
            f"image_digest, runtime, first_seen, last_seen, host_id FROM {d.tables}containers"
        ),
        "hosts": (
            "SELECT host_id, id AS agent_id, hostname, status, version, last_seen "
            f"FROM {d.tables}agents"
        ),
    }


def inventory_views(d: ViewDialect) -> dict[str, str]:
    """One view per registered inventory table: the host and the row's fields as columns."""
    views: dict[str, str] = {}
    for name, table in TABLES.items():
        columns = [f.name for f in msgspec.structs.fields(table.row)]
        picked = ", ".join(f'{d.field("row", c)} AS "{c}"' for c in columns)
        views[name] = (
            f"SELECT host_id, {picked} FROM {d.tables}host_inventory WHERE table_name = '{name}'"
        )
    return views


def views_in(dialect: ViewDialect) -> dict[str, str]:
    """Every view's SELECT, by view name, in `dialect`."""
    return {"events": _events(dialect), "alerts": _alerts(dialect)} | (
        _fixed(dialect) | inventory_views(dialect)
    )


def view_sql(since: int, until: int) -> dict[str, str]:
    """Every view's SELECT (SQLite), by view name, for a window of [since, until) ns."""
    return views_in(sqlite_dialect(since, until))
