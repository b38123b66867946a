"""Workload groups and their versioned profiles, beside the store's tables (SQLite or
PostgreSQL: the same SQL, through `dialect.py` on PostgreSQL).

A group's row keeps its first sighting and the modes a user set (NULL: the policy
decides); each stored profile is a new version (its YAML, who, when); one revision
counter goes up on every change so agents know when to fetch again. Versions never
collide when several platform processes write one group at once: a new number is read and
written in one statement, and a merge made on a version read earlier is stored only as
that version's successor (`add_profile_after`), else merged again on the newer one.
"""

from __future__ import annotations

from stockade.platform.store.profiles import GroupRecord, ProfileVersion
from stockade.platform.store.sql import Connection, Database


class SqliteProfileStore:
    """`ProfileStore` on the store's connections (SQLite's or PostgreSQL's)."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def groups(self) -> list[GroupRecord]:
        """Every group, by id."""
        rows = self._store.connection().execute("SELECT * FROM profile_groups ORDER BY id")
        return [GroupRecord(*row) for row in rows]

    def group(self, group_id: str) -> GroupRecord | None:
        """One group, or None."""
        conn = self._store.connection()
        row = conn.execute("SELECT * FROM profile_groups WHERE id = ?", (group_id,)).fetchone()
        return GroupRecord(*row) if row else None

    def see_group(self, group_id: str, name: str, first_seen: int) -> bool:
        """Record a group the first time it is seen; True when it is new."""
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO profile_groups VALUES (?, ?, ?, NULL, NULL, ?, '')",
                (group_id, name, first_seen, first_seen),
            )
            if cursor.rowcount:
                _bump(conn)
            return bool(cursor.rowcount)

    def set_modes(
        self, group_id: str, process: str | None, network: str | None, by: str, now: int
    ) -> None:
        """Set the modes a user chose (None: back to the policy)."""
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE profile_groups SET process_mode = ?, network_mode = ?, updated_at = ?, "
                "updated_by = ? WHERE id = ?",
                (process, network, now, by, group_id),
            )
            _bump(conn)

    def latest_profile(self, group_id: str) -> ProfileVersion | None:
        """The newest version of the group's profile, or None."""
        row = (
            self._store.connection()
            .execute(
                "SELECT * FROM profile_versions WHERE group_id = ? ORDER BY version DESC LIMIT 1",
                (group_id,),
            )
            .fetchone()
        )
        return ProfileVersion(*row) if row else None

    def profile_version(self, group_id: str, version: int) -> ProfileVersion | None:
        """One version of the group's profile, or None."""
        row = (
            self._store.connection()
            .execute(
                "SELECT * FROM profile_versions WHERE group_id = ? AND version = ?",
                (group_id, version),
            )
            .fetchone()
        )
        return ProfileVersion(*row) if row else None

    def profile_versions(self, group_id: str) -> list[ProfileVersion]:
        """Every version of the group's profile, newest first."""
        rows = self._store.connection().execute(
            "SELECT * FROM profile_versions WHERE group_id = ? ORDER BY version DESC", (group_id,)
        )
        return [ProfileVersion(*row) for row in rows]

    def add_profile(self, group_id: str, yaml: str, by: str, now: int) -> ProfileVersion:
        """Store a new version (the latest plus one) of the group's profile."""
        with self._store.transaction() as conn:
            # one statement: the next number is taken where it is written (the key
            # (group_id, version) refuses a second writer's same number, never overwrites)
            row = conn.execute(
                "INSERT INTO profile_versions (group_id, version, yaml, created_at, created_by) "
                "SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ?, ? FROM profile_versions "
                "WHERE group_id = ? RETURNING version",
                (group_id, yaml, now, by, group_id),
            ).fetchone()
            _bump(conn)
        return ProfileVersion(group_id, int(row[0]), yaml, now, by)

    def add_profile_after(
        self, group_id: str, version: int, yaml: str, by: str, now: int
    ) -> ProfileVersion | None:
        """Store `yaml` as version `version + 1`; None when another writer took it first."""
        with self._store.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO profile_versions VALUES (?, ?, ?, ?, ?)",
                (group_id, version + 1, yaml, now, by),
            )
            if cursor.rowcount != 1:
                return None
            _bump(conn)
        return ProfileVersion(group_id, version + 1, yaml, now, by)

    def revision(self) -> int:
        """The revision counter (0 before any change)."""
        conn = self._store.connection()
        row = conn.execute("SELECT revision FROM profile_revision").fetchone()
        return int(row[0]) if row else 0


def _bump(conn: Connection) -> None:
    conn.execute(
        "INSERT INTO profile_revision VALUES (1, 1) "
        "ON CONFLICT (id) DO UPDATE SET revision = revision + 1"
    )
