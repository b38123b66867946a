"""SQLite's schema versions from 9 on: what was built on the core tables (the alert
console, response policies, profiles, the firewall, inventory, baseline, saved hunts,
fleet state, custom rules, host tokens). A new version is appended here.
"""

from __future__ import annotations

from stockade.platform.store.alert_console_schema import (
    ALERT_CONSOLE_COLUMNS,
    ALERT_CONSOLE_INDEXES,
)

LATER: tuple[tuple[int, str], ...] = (
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
