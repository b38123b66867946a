"""SQLite's text of every schema version, in order (the numbered list `migrate` applies).

PostgreSQL runs the same texts through `dialect.ddl`, except the few versions
`migrations_postgres` gives a text of its own. A new version is appended here.
"""

from __future__ import annotations

from stockade.platform.store.alert_console_schema import (
    ALERT_CONSOLE_COLUMNS,
    ALERT_CONSOLE_INDEXES,
)

MIGRATIONS: tuple[tuple[int, str], ...] = (
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
    (
        9,
        # the alert console: triage state, sortable origin columns, full-text search
        ALERT_CONSOLE_COLUMNS
        + """
        UPDATE alerts SET
            hostname = coalesce(json_extract(body, '$.hostname'), ''),
            count = coalesce(json_extract(body, '$.count'), 1),
            tags = ',' || coalesce((SELECT group_concat(value, ',')
                                    FROM json_each(alerts.body, '$.tags')), '') || ',',
            container_name = coalesce((SELECT c.name FROM containers c
                WHERE c.id = alerts.container_id AND c.agent_id = alerts.agent_id), ''),
            image = coalesce((SELECT c.image FROM containers c
                WHERE c.id = alerts.container_id AND c.agent_id = alerts.agent_id), '');
        UPDATE alerts SET tags = ',' WHERE tags = ',,';
"""
        + ALERT_CONSOLE_INDEXES
        + """
        CREATE VIRTUAL TABLE alerts_text USING fts5 (
            rule, output, proc_cmdline, hostname, container_name, image, tags,
            content='alerts', content_rowid='id'
        );
        INSERT INTO alerts_text (alerts_text) VALUES ('rebuild');
        CREATE TRIGGER alerts_text_insert AFTER INSERT ON alerts BEGIN
            INSERT INTO alerts_text (rowid, rule, output, proc_cmdline, hostname,
                                     container_name, image, tags)
            VALUES (new.id, new.rule, new.output, new.proc_cmdline, new.hostname,
                    new.container_name, new.image, new.tags);
        END;
        CREATE TRIGGER alerts_text_delete AFTER DELETE ON alerts BEGIN
            INSERT INTO alerts_text (alerts_text, rowid, rule, output, proc_cmdline, hostname,
                                     container_name, image, tags)
            VALUES ('delete', old.id, old.rule, old.output, old.proc_cmdline, old.hostname,
                    old.container_name, old.image, old.tags);
        END;
        ALTER TABLE agents ADD COLUMN events_total INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN heartbeat_at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE agents ADD COLUMN events_per_s REAL NOT NULL DEFAULT 0
        """,
    ),
    (
        10,
        # response policies pushed to every agent: one YAML document, versioned
        """
        CREATE TABLE response_policies (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            yaml TEXT NOT NULL,
            version INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            updated_by TEXT NOT NULL
        )
        """,
    ),
    (
        11,
        # workload groups (modes a user set), their profiles' versions, and one revision
        # counter agents compare to know when to fetch profiles and modes again
        """
        CREATE TABLE profile_groups (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            first_seen INTEGER NOT NULL,
            process_mode TEXT,
            network_mode TEXT,
            updated_at INTEGER NOT NULL,
            updated_by TEXT NOT NULL
        );
        CREATE TABLE profile_versions (
            group_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            yaml TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            PRIMARY KEY (group_id, version)
        );
        CREATE TABLE profile_revision (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            revision INTEGER NOT NULL
        )
        """,
    ),
    (
        12,
        # the container firewall: flows between workload groups, and the allow rules
        """
        CREATE TABLE firewall_flows (
            src_kind TEXT NOT NULL, src TEXT NOT NULL, dst_kind TEXT NOT NULL, dst TEXT NOT NULL,
            port INTEGER NOT NULL, protocol TEXT NOT NULL,
            count INTEGER NOT NULL, first_ns INTEGER NOT NULL, last_ns INTEGER NOT NULL,
            violations INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (src_kind, src, dst_kind, dst, port, protocol)
        );
        CREATE TABLE firewall_rules (
            id TEXT PRIMARY KEY,
            src_kind TEXT NOT NULL, src TEXT NOT NULL, dst_kind TEXT NOT NULL, dst TEXT NOT NULL,
            port INTEGER NOT NULL, protocol TEXT NOT NULL, origin TEXT NOT NULL,
            created_at INTEGER NOT NULL, created_by TEXT NOT NULL
        )
        """,
    ),
    (
        13,
        # host inventory: each host's current rows per osquery-shaped table (row = its JSON),
        # the time of its last collection, and the history of rows added and removed
        """
        CREATE TABLE host_inventory (
            host_id TEXT NOT NULL,
            table_name TEXT NOT NULL,
            row TEXT NOT NULL,
            seen_at INTEGER NOT NULL,
            PRIMARY KEY (host_id, table_name, row)
        ) WITHOUT ROWID;
        CREATE TABLE host_inventory_changes (
            id INTEGER PRIMARY KEY,
            host_id TEXT NOT NULL,
            table_name TEXT NOT NULL,
            change TEXT NOT NULL CHECK (change IN ('added', 'removed')),
            row TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE INDEX host_inventory_changes_host ON host_inventory_changes (host_id, at);
        CREATE TABLE host_inventory_collections (
            host_id TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            collected_at INTEGER NOT NULL,
            received_at INTEGER NOT NULL
        )
        """,
    ),
    (
        14,
        # baseline checks: one row per policy run on a host (its checks as JSON); the
        # newest run of each (host, policy) is the current state, older ones its history
        """
        CREATE TABLE baseline_runs (
            id INTEGER PRIMARY KEY,
            host_id TEXT NOT NULL,
            policy_id TEXT NOT NULL,
            policy_name TEXT NOT NULL,
            ran_at INTEGER NOT NULL,
            score REAL NOT NULL,
            passed INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            not_applicable INTEGER NOT NULL,
            checks TEXT NOT NULL
        );
        CREATE INDEX baseline_runs_host ON baseline_runs (host_id, policy_id, ran_at)
        """,
    ),
    (
        15,
        # saved hunts: a query run every interval over the window since its last run; rows
        # found raise an alert (agent_id 'hunt', its own seq per hunt)
        """
        CREATE TABLE saved_hunts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            sql TEXT NOT NULL,
            interval_s INTEGER NOT NULL,
            priority TEXT NOT NULL,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            last_run_at INTEGER NOT NULL DEFAULT 0,
            last_rows INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            alerts INTEGER NOT NULL DEFAULT 0
        )
        """,
    ),
    (
        16,
        # fleet correlations' shared state: the workers' signals (alerts and connections,
        # each record once per correlation), hosts' own addresses, and each correlation
        # met (one row per correlation, group and window: it fires once)
        """
        CREATE TABLE fleet_signals (
            correlation TEXT NOT NULL,
            kind TEXT NOT NULL,
            group_key TEXT NOT NULL,
            host_id TEXT NOT NULL,
            ts INTEGER NOT NULL,
            agent_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            detail TEXT NOT NULL,
            PRIMARY KEY (correlation, kind, agent_id, seq)
        );
        CREATE INDEX fleet_signals_group ON fleet_signals (correlation, kind, group_key, ts);
        CREATE INDEX fleet_signals_ts ON fleet_signals (ts);
        CREATE TABLE fleet_addresses (
            address TEXT NOT NULL,
            host_id TEXT NOT NULL,
            seen_ts INTEGER NOT NULL,
            PRIMARY KEY (address, host_id)
        );
        CREATE INDEX fleet_addresses_host ON fleet_addresses (host_id);
        CREATE TABLE fleet_fires (
            id INTEGER PRIMARY KEY,
            correlation TEXT NOT NULL,
            group_key TEXT NOT NULL,
            first_ts INTEGER NOT NULL,
            last_ts INTEGER NOT NULL,
            fired_at INTEGER NOT NULL,
            UNIQUE (correlation, group_key, first_ts)
        );
        CREATE INDEX fleet_fires_group ON fleet_fires (correlation, group_key, last_ts)
        """,
    ),
    (
        17,
        # PostgreSQL only (migrations_postgres.py): fewer indexes for events to maintain
        # at ingest; SQLite keeps its own
        "",
    ),
    (
        18,
        # fleet alerts whose side effects (incident, outputs) are not finished yet: written
        # with the alert, removed once the outputs have it; the batch that raised it (agent,
        # last seq) finds them again when redelivered after a worker crashed
        """
        CREATE TABLE fleet_outbox (
            seq INTEGER NOT NULL PRIMARY KEY,
            agent_id TEXT NOT NULL,
            batch_seq INTEGER NOT NULL,
            claimed_at INTEGER NOT NULL
        );
        CREATE INDEX fleet_outbox_batch ON fleet_outbox (agent_id, batch_seq)
        """,
    ),
    (
        19,
        # each workload group's pod selector (JSON: labels, namespace, or why none), what
        # its sightings have in common: the NetworkPolicy export selects pods by it
        """
        CREATE TABLE group_selectors (
            group_id TEXT NOT NULL PRIMARY KEY,
            selector TEXT NOT NULL
        )
        """,
    ),
    (
        20,
        # custom rule files: every version (who, when, content hash; a deletion is a
        # version too), single rules switched on or off, one revision counter agents poll,
        # and which revision each agent loaded (or why it kept its previous rules)
        """
        CREATE TABLE rule_file_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            content TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            deleted INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            PRIMARY KEY (name, version)
        );
        CREATE TABLE rule_toggles (
            rule TEXT NOT NULL PRIMARY KEY,
            enabled INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            updated_by TEXT NOT NULL
        );
        CREATE TABLE rule_revision (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            revision INTEGER NOT NULL
        );
        CREATE TABLE agent_rule_loads (
            agent_id TEXT NOT NULL PRIMARY KEY,
            revision INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            error TEXT NOT NULL,
            rules INTEGER NOT NULL,
            reported_at INTEGER NOT NULL
        )
        """,
    ),
    (
        21,
        # a token an admin made to enroll a new agent on a host another active agent holds
        # (a reinstall): enrolling with it revokes the holder; '' for an ordinary token
        "ALTER TABLE enrollment_tokens ADD COLUMN replaces_host TEXT NOT NULL DEFAULT ''",
    ),
)
