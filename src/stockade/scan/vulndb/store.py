"""`VulnDB`: the local SQLite advisory database, indexed by (ecosystem, normalised name)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from stockade.scan.locations import DEFAULT_VULNDB_PATH
from stockade.scan.vulndb.formats import VulnDBError
from stockade.scan.vulndb.model import Advisory, Affected
from stockade.scan.vulndb.names import normalise

DEFAULT_PATH = DEFAULT_VULNDB_PATH
SCHEMA_VERSION = 1  # bump when the tables or the stored encoding change
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
  location TEXT PRIMARY KEY, formats TEXT NOT NULL, imported_at TEXT NOT NULL,
  advisories INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS advisories (
  rowid INTEGER PRIMARY KEY, location TEXT NOT NULL, id TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS affected (
  ecosystem TEXT NOT NULL, name TEXT NOT NULL, advisory INTEGER NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS affected_key ON affected (ecosystem, name);
CREATE INDEX IF NOT EXISTS advisories_location ON advisories (location);
"""
_ENCODER = msgspec.msgpack.Encoder()
_ADVISORY = msgspec.msgpack.Decoder(Advisory)
_AFFECTED = msgspec.msgpack.Decoder(Affected)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An advisory and the one affected entry that names the package looked up."""

    advisory: Advisory
    affected: Affected


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One imported source: where from, which formats, when, how many advisories."""

    location: str
    formats: str
    imported_at: str
    advisories: int


class VulnDB:
    """Advisories on disk; a scan only reads it, so it works offline."""

    def __init__(self, path: Path, create: bool = False) -> None:
        self.path = path
        if not create and not path.is_file():
            raise VulnDBError(
                f"no vulnerability database at {path}: run `stockade db import PATH --db {path}`"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path)
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                self._conn.close()
                raise VulnDBError(
                    f"{path} holds vulnerability database format {version}, this Stockade "
                    f"reads {SCHEMA_VERSION}: delete it and import the advisories again"
                )
            self._conn.executescript(
                f"PRAGMA journal_mode=WAL; PRAGMA user_version={SCHEMA_VERSION};" + _SCHEMA
            )
        except (OSError, sqlite3.Error) as e:
            raise VulnDBError(f"cannot open vulnerability database {path}: {e}") from e

    def close(self) -> None:
        """Close the database file."""
        self._conn.close()

    def replace_source(self, location: str, formats: Iterable[str], advs: list[Advisory]) -> None:
        """Store `advs` as the whole content of `location`, dropping what it held before."""
        with self._conn:
            self._conn.execute(
                "DELETE FROM affected WHERE advisory IN "
                "(SELECT rowid FROM advisories WHERE location = ?)",
                (location,),
            )
            self._conn.execute("DELETE FROM advisories WHERE location = ?", (location,))
            start = self._conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM advisories").fetchone()
            rows: list[tuple[int, str, str, bytes]] = []
            affected_rows: list[tuple[str, str, int, bytes]] = []
            for offset, adv in enumerate(advs, start=start[0] + 1):
                rows.append((offset, location, adv.id, _ENCODER.encode(_without_affected(adv))))
                affected_rows.extend(
                    (a.ecosystem, normalise(a.ecosystem, a.name), offset, _ENCODER.encode(a))
                    for a in adv.affected
                )
            self._conn.executemany("INSERT INTO advisories VALUES (?, ?, ?, ?)", rows)
            self._conn.executemany("INSERT INTO affected VALUES (?, ?, ?, ?)", affected_rows)
            self._conn.execute(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?)",
                (location, ",".join(sorted(set(formats))), _now(), len(advs)),
            )

    def candidates(self, ecosystem: str, name: str) -> list[Candidate]:
        """Every advisory naming `name` in `ecosystem` (e.g. "PyPI", "Debian:12")."""
        rows = self._conn.execute(
            "SELECT a.data, f.data FROM affected f JOIN advisories a ON a.rowid = f.advisory "
            "WHERE f.ecosystem = ? AND f.name = ? ORDER BY a.rowid",
            (ecosystem, normalise(ecosystem, name)),
        )
        return [Candidate(_ADVISORY.decode(adv), _AFFECTED.decode(aff)) for adv, aff in rows]

    def sources(self) -> list[SourceStatus]:
        """The imported sources, oldest import first."""
        rows = self._conn.execute("SELECT * FROM sources ORDER BY imported_at")
        return [SourceStatus(*row) for row in rows]

    def counts_by_ecosystem(self) -> dict[str, int]:
        """Number of advisories per ecosystem."""
        rows = self._conn.execute(
            "SELECT ecosystem, COUNT(DISTINCT advisory) FROM affected GROUP BY ecosystem"
        )
        return dict(rows.fetchall())


def _without_affected(adv: Advisory) -> Advisory:
    return msgspec.structs.replace(adv, affected=())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_db(path: Path | str | None = None, create: bool = False) -> VulnDB:
    """Open the database at `path` (default ~/.cache/stockade); `create` makes a missing one."""
    return VulnDB(Path(path or DEFAULT_PATH).expanduser(), create=create)
