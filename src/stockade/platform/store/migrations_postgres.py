"""The PostgreSQL text of the few migrations whose SQLite text has no translation.

Version 9 builds full-text search with FTS5 and triggers in SQLite; PostgreSQL gets a GIN
index over the alerts' words instead. Version 13 keys host inventory rows by their whole
JSON, longer than a B-tree entry may be: PostgreSQL keys them by its md5, the rest of the
script as SQLite's. Version 17 drops two of the events' indexes that PostgreSQL's ingest
pays for and no query needs (see `_LEANER_EVENTS`). Every other version runs SQLite's text
through `dialect.ddl`.
"""

from __future__ import annotations

from stockade.platform.store.alert_console_schema import (
    ALERT_CONSOLE_COLUMNS,
    ALERT_CONSOLE_INDEXES,
)
from stockade.platform.store.base import StoreError
from stockade.platform.store.dialect import alert_text_vector

_FULL_TEXT_SEARCH = (
    ALERT_CONSOLE_COLUMNS
    + ALERT_CONSOLE_INDEXES
    + """
        CREATE INDEX alerts_text ON alerts USING gin (ALERT_TEXT);
        ALTER TABLE agents ADD COLUMN events_total INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN events_per_s REAL NOT NULL DEFAULT 0
""".replace("ALERT_TEXT", alert_text_vector(""))
)

_INVENTORY_KEY_SQLITE = """
            seen_at INTEGER NOT NULL,
            PRIMARY KEY (host_id, table_name, row)
        ) WITHOUT ROWID;"""
_INVENTORY_KEY_POSTGRESQL = """
            seen_at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX host_inventory_row ON host_inventory (host_id, table_name, md5(row));"""

# Each index of events costs ingest about a tenth of its server CPU. The key (id, ts):
# nothing looks an event up by id (pages order by ts, id; retention deletes by ts). The
# (agent_id, ts) index: an agent's events carry its host id (ingest refuses others), so
# the host filter finds them by (host_id, ts) (`sqlite_queries.host_terms`), and an event
# by its agent and seq through the (agent_id, seq, ts) key that keeps them exactly once.
# The five left each serve a filter (`benchmarks/bench_pg_indexes.py` prints what each
# costs a row): (container_id, ts) and (host_id, ts) cost most (wide keys, many values:
# inserts land all over them), (ts) least, as rows arrive in time order and it grows at
# its right edge. A BRIN index on ts would save about 0.05 CPU s per 100k events, and the
# newest-first pages and the hunts' ordered windows would then sort a partition: kept.
_LEANER_EVENTS = """
        ALTER TABLE events DROP CONSTRAINT events_pkey;
        DROP INDEX events_agent_ts
"""


def postgresql_script(version: int, sqlite_script: str) -> str:
    """The script PostgreSQL runs for `version` (before `dialect.ddl`)."""
    if version == 9:
        return _FULL_TEXT_SEARCH
    if version == 17:
        return _LEANER_EVENTS
    if version == 13:
        if _INVENTORY_KEY_SQLITE not in sqlite_script:
            raise StoreError("migration 13: its PostgreSQL key no longer matches its SQLite text")
        return sqlite_script.replace(_INVENTORY_KEY_SQLITE, _INVENTORY_KEY_POSTGRESQL)
    return sqlite_script
