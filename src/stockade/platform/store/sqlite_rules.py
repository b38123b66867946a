"""Custom rule files with their versions, switched rules, and what each agent loaded;
beside the store's tables (SQLite or PostgreSQL: the same SQL, through `dialect.py`).

Every change is a new row (a deletion is a version with `deleted` set) and bumps one
revision counter, which agents poll to know when to fetch the bundle again.
"""

from __future__ import annotations

from dataclasses import dataclass

from stockade.platform.store.sql import Connection, Database

_LATEST = (
    "SELECT v.name, v.version, v.content, v.sha256, v.deleted, v.created_at, v.created_by "
    "FROM rule_file_versions v WHERE v.version = "
    "(SELECT MAX(version) FROM rule_file_versions w WHERE w.name = v.name)"
)


@dataclass(frozen=True, slots=True)
class RuleFileVersion:
    """One stored version of a custom rule file (a deletion is a version too)."""

    name: str
    version: int
    content: str
    sha256: str
    deleted: bool
    created_at: int
    created_by: str


@dataclass(frozen=True, slots=True)
class RuleToggle:
    """A rule a user switched on or off, by name."""

    rule: str
    enabled: bool
    updated_at: int
    updated_by: str


@dataclass(frozen=True, slots=True)
class AgentRuleLoad:
    """The bundle revision an agent last reported loading, or why it kept its rules."""

    agent_id: str
    revision: int
    sha256: str
    error: str
    rules: int
    reported_at: int


def _version(row: tuple[object, ...]) -> RuleFileVersion:
    name, version, content, sha, deleted, at, by = row
    return RuleFileVersion(
        str(name), int(str(version)), str(content), str(sha), bool(deleted), int(str(at)), str(by)
    )


class SqliteRuleStore:
    """Custom rules on the store's connections (SQLite's or PostgreSQL's)."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def files(self) -> list[RuleFileVersion]:
        """The current version of every file not deleted, by name."""
        rows = self._store.connection().execute(_LATEST + " ORDER BY v.name").fetchall()
        return [f for f in map(_version, rows) if not f.deleted]

    def file(self, name: str, version: int | None = None) -> RuleFileVersion | None:
        """A file's latest version (None when deleted or never stored), or `version`."""
        conn = self._store.connection()
        if version is None:
            row = conn.execute(_LATEST + " AND v.name = ?", (name,)).fetchone()
            found = _version(row) if row else None
            return found if found and not found.deleted else None
        row = conn.execute(
            "SELECT * FROM rule_file_versions WHERE name = ? AND version = ?", (name, version)
        ).fetchone()
        return _version(row) if row else None

    def versions(self, name: str) -> list[RuleFileVersion]:
        """Every version of a file, newest first."""
        rows = self._store.connection().execute(
            "SELECT * FROM rule_file_versions WHERE name = ? ORDER BY version DESC", (name,)
        )
        return [_version(row) for row in rows]

    def put_file(
        self, name: str, content: str, sha256: str, by: str, now: int, deleted: bool = False
    ) -> int:
        """Store the next version of a file (or its deletion); the version's number."""
        with self._store.transaction() as conn:
            row = conn.execute(
                "INSERT INTO rule_file_versions (name, version, content, sha256, deleted, "
                "created_at, created_by) SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, ? "
                "FROM rule_file_versions WHERE name = ? RETURNING version",
                (name, content, sha256, int(deleted), now, by, name),
            ).fetchone()
            _bump(conn)
        return int(row[0])

    def toggles(self) -> list[RuleToggle]:
        """Every switched rule, by name."""
        rows = self._store.connection().execute("SELECT * FROM rule_toggles ORDER BY rule")
        return [RuleToggle(str(r[0]), bool(r[1]), int(r[2]), str(r[3])) for r in rows]

    def set_toggles(self, toggles: dict[str, bool | None], by: str, now: int) -> None:
        """Switch rules on or off (None: forget the switch, the files decide again)."""
        with self._store.transaction() as conn:
            for rule, enabled in toggles.items():
                conn.execute("DELETE FROM rule_toggles WHERE rule = ?", (rule,))
                if enabled is not None:
                    conn.execute(
                        "INSERT INTO rule_toggles VALUES (?, ?, ?, ?)",
                        (rule, int(enabled), now, by),
                    )
            _bump(conn)

    def revision(self) -> int:
        """The revision counter (0 before any change)."""
        row = self._store.connection().execute("SELECT revision FROM rule_revision").fetchone()
        return int(row[0]) if row else 0

    def record_load(self, load: AgentRuleLoad) -> None:
        """Keep what an agent reported loading (its latest report only)."""
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM agent_rule_loads WHERE agent_id = ?", (load.agent_id,))
            conn.execute(
                "INSERT INTO agent_rule_loads VALUES (?, ?, ?, ?, ?, ?)",
                (load.agent_id, load.revision, load.sha256, load.error, load.rules,
                 load.reported_at),
            )  # fmt: skip

    def loads(self) -> list[AgentRuleLoad]:
        """Every agent's latest report, by agent id."""
        rows = self._store.connection().execute("SELECT * FROM agent_rule_loads ORDER BY agent_id")
        return [
            AgentRuleLoad(str(r[0]), int(r[1]), str(r[2]), str(r[3]), int(r[4]), int(r[5]))
            for r in rows
        ]


def _bump(conn: Connection) -> None:
    conn.execute(
        "INSERT INTO rule_revision VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET revision = revision + 1"
    )
