"""SQLite's text of every schema version, in order (the numbered list `migrate` applies).

Versions 1-8 are here: the core tables (users, events and alerts, agents, images,
incidents, the actions' trail); 9 on, and new ones, in `migrations_sqlite_later`.
PostgreSQL runs the same texts through `dialect.ddl`, except the few versions
`migrations_postgres` gives a text of its own.
"""

from __future__ import annotations

from stockade.platform.store.migrations_sqlite_later import LATER

CORE: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE TABLE enrollment_tokens (
            token_hash TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            used_at INTEGER,
            agent_id TEXT
        );
        CREATE TABLE agents (
            id TEXT PRIMARY KEY,
            hostname TEXT NOT NULL,
            host_id TEXT NOT NULL,
            cert_fingerprint TEXT NOT NULL,
            enrolled_at INTEGER NOT NULL,
            acked_seq INTEGER NOT NULL DEFAULT 0,
            last_seen INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'enrolled',
            version TEXT NOT NULL DEFAULT '',
            spooled_seq INTEGER NOT NULL DEFAULT 0,
            sensor_json TEXT
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            host_id TEXT NOT NULL,
            container_id TEXT NOT NULL,
            type TEXT NOT NULL,
            proc_name TEXT NOT NULL,
            proc_pid INTEGER NOT NULL,
            body BLOB NOT NULL,
            UNIQUE (agent_id, seq)
        );
        CREATE INDEX events_ts ON events (ts);
        CREATE INDEX events_container_ts ON events (container_id, ts);
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            agent_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            event_seq INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            host_id TEXT NOT NULL,
            container_id TEXT NOT NULL,
            rule TEXT NOT NULL,
            priority TEXT NOT NULL,
            priority_num INTEGER NOT NULL,
            output TEXT NOT NULL,
            proc_name TEXT NOT NULL,
            proc_pid INTEGER NOT NULL,
            proc_cmdline TEXT NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (agent_id, seq)
        );
        CREATE INDEX alerts_ts ON alerts (ts);
        CREATE TABLE containers (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            image TEXT NOT NULL,
            image_digest TEXT NOT NULL,
            runtime TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            host_id TEXT NOT NULL,
            agent_id TEXT NOT NULL
        );
        CREATE INDEX containers_name ON containers (name);
        """,
    ),
    (
        2,
        """
        ALTER TABLE alerts ADD COLUMN type TEXT NOT NULL DEFAULT '';
        CREATE INDEX alerts_rule_ts ON alerts (rule, ts);
        """,
    ),
    (
        3,
        """
        CREATE TABLE images (
            digest TEXT PRIMARY KEY,
            names_json TEXT NOT NULL,
            os TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            scanned_at INTEGER NOT NULL,
            agent_id TEXT NOT NULL,
            target TEXT NOT NULL,
            packages INTEGER NOT NULL,
            by_severity_json TEXT NOT NULL,
            by_kind_json TEXT NOT NULL,
            max_severity INTEGER NOT NULL
        );
        CREATE INDEX images_scanned_at ON images (scanned_at);
        CREATE TABLE image_scans (
            digest TEXT PRIMARY KEY REFERENCES images(digest),
            result BLOB NOT NULL
        );
        """,
    ),
    (
        4,
        """
        CREATE INDEX events_proc_name_ts ON events (proc_name, ts);
        CREATE INDEX events_type_ts ON events (type, ts);
        CREATE INDEX events_host_ts ON events (host_id, ts);
        CREATE INDEX events_agent_ts ON events (agent_id, ts);
        CREATE INDEX alerts_host_ts ON alerts (host_id, ts);
        CREATE INDEX alerts_agent_ts ON alerts (agent_id, ts);
        CREATE INDEX alerts_container_ts ON alerts (container_id, ts);
        CREATE INDEX alerts_priority_ts ON alerts (lower(priority), ts);
        CREATE INDEX alerts_priority_num_ts ON alerts (priority_num, ts);
        CREATE INDEX agents_hostname ON agents (hostname);
        CREATE INDEX agents_host_id ON agents (host_id);
        ALTER TABLE agents ADD COLUMN records_refused INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        5,
        """
        ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
        ALTER TABLE sessions ADD COLUMN name TEXT;
        CREATE INDEX sessions_user ON sessions (user_id);
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            ts INTEGER NOT NULL,
            username TEXT NOT NULL,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            status INTEGER NOT NULL,
            source TEXT NOT NULL
        );
        CREATE INDEX audit_log_ts ON audit_log (ts);
        """,
    ),
    (
        6,
        """
        ALTER TABLE agents ADD COLUMN revoked_at INTEGER;
        ALTER TABLE agents ADD COLUMN previous_fingerprint TEXT NOT NULL DEFAULT '';
        CREATE TABLE containers_by_agent (
            id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            name TEXT NOT NULL,
            image TEXT NOT NULL,
            image_digest TEXT NOT NULL,
            runtime TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            last_seen INTEGER NOT NULL,
            host_id TEXT NOT NULL,
            PRIMARY KEY (id, agent_id)
        );
        INSERT INTO containers_by_agent (id, agent_id, name, image, image_digest, runtime,
                                         first_seen, last_seen, host_id)
            SELECT id, agent_id, name, image, image_digest, runtime, first_seen, last_seen,
                   host_id FROM containers;
        DROP TABLE containers;
        ALTER TABLE containers_by_agent RENAME TO containers;
        CREATE INDEX containers_name ON containers (name);
        CREATE INDEX containers_agent_digest ON containers (agent_id, image_digest);
        CREATE TABLE agent_image_scans (
            digest TEXT NOT NULL REFERENCES images(digest),
            agent_id TEXT NOT NULL,
            scanned_at INTEGER NOT NULL,
            result BLOB NOT NULL,
            PRIMARY KEY (digest, agent_id)
        );
        INSERT INTO agent_image_scans (digest, agent_id, scanned_at, result)
            SELECT s.digest, i.agent_id, i.scanned_at, s.result
            FROM image_scans s JOIN images i ON i.digest = s.digest;
        DROP TABLE image_scans;
        CREATE TABLE scan_requests (
            digest TEXT PRIMARY KEY,
            requested_by TEXT NOT NULL,
            requested_at INTEGER NOT NULL
        )
        """,
    ),
    (
        7,
        """
        CREATE TABLE incidents (
            id INTEGER PRIMARY KEY,
            host_id TEXT NOT NULL,
            container_id TEXT NOT NULL,
            title TEXT NOT NULL,
            severity INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'new',
            assignee TEXT NOT NULL DEFAULT '',
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            alert_count INTEGER NOT NULL DEFAULT 0,
            lineage_json TEXT NOT NULL DEFAULT '[]',
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX incidents_last_ts ON incidents (last_ts, id);
        CREATE INDEX incidents_host_last_ts ON incidents (host_id, last_ts);
        CREATE TABLE incident_notes (
            id INTEGER PRIMARY KEY,
            incident_id INTEGER NOT NULL REFERENCES incidents(id),
            ts INTEGER NOT NULL,
            username TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX incident_notes_incident ON incident_notes (incident_id, ts);
        ALTER TABLE alerts ADD COLUMN incident_id INTEGER;
        CREATE INDEX alerts_incident_ts ON alerts (incident_id, ts)
        """,
    ),
    (
        8,
        # response actions: the audit trail (users' orders and policies' actions alike)
        """
        CREATE TABLE actions (
            id TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            action TEXT NOT NULL,
            status TEXT NOT NULL,
            requested_at INTEGER NOT NULL,
            completed_at INTEGER NOT NULL,
            record TEXT NOT NULL
        );
        CREATE INDEX actions_requested ON actions (requested_at);
        CREATE INDEX actions_pending ON actions (agent_id, status)
        """,
    ),
)

MIGRATIONS: tuple[tuple[int, str], ...] = CORE + LATER
