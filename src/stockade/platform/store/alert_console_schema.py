"""The alert console's schema change (migration 9), written once for SQLite and PostgreSQL."""

from __future__ import annotations

# version 9 (the alert console) adds these columns on both databases
ALERT_CONSOLE_COLUMNS = """
        ALTER TABLE alerts ADD COLUMN hostname TEXT NOT NULL DEFAULT '';
        ALTER TABLE alerts ADD COLUMN container_name TEXT NOT NULL DEFAULT '';
        ALTER TABLE alerts ADD COLUMN image TEXT NOT NULL DEFAULT '';
        ALTER TABLE alerts ADD COLUMN tags TEXT NOT NULL DEFAULT ',';
        ALTER TABLE alerts ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
        ALTER TABLE alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
        ALTER TABLE alerts ADD COLUMN status_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE alerts ADD COLUMN status_at INTEGER;
"""
# ... and these sort and filter indexes (after the columns are filled)
ALERT_CONSOLE_INDEXES = """
        DROP INDEX alerts_rule_ts;
        CREATE INDEX alerts_rule_ts ON alerts (rule, ts DESC, id DESC);
        DROP INDEX alerts_priority_num_ts;
        CREATE INDEX alerts_priority_num_ts ON alerts (priority_num, ts DESC, id DESC);
        CREATE INDEX alerts_hostname_ts ON alerts (hostname, ts DESC, id DESC);
        CREATE INDEX alerts_container_name_ts ON alerts (container_name, ts DESC, id DESC);
        CREATE INDEX alerts_image_ts ON alerts (image, ts);
        CREATE INDEX alerts_status_ts ON alerts (status, ts);
"""
