"""Empty Trivy databases, so Trivy lists and looks up packages offline.

Trivy's vulnerability DB is a bbolt file (db/trivy.db) plus metadata.json; with
`--skip-db-update` it opens both read-only and refuses to run without them. Its Java DB
(java-db/trivy-java.db, SQLite) is needed as soon as a jar is met, even with
`--offline-scan`, unless `--skip-java-db-update` finds one. Neither can be downloaded
here, so the benchmarks write the smallest valid bbolt file (bbolt's own initial layout:
two meta pages, an empty freelist page and an empty root leaf page), an SQLite file with
the Java DB's two tables, and metadata saying which schema each is.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

PAGE_SIZE = 4096
MAGIC = 0xED0CDAED
META_PAGE, FREELIST_PAGE, LEAF_PAGE = 0x04, 0x10, 0x02
TRIVY_DB_SCHEMA = 2
JAVA_DB_SCHEMA = 1
JAVA_DB_TABLES = """
CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT);
CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT,
    FOREIGN KEY (artifact_id) REFERENCES artifacts(id));
CREATE UNIQUE INDEX artifacts_idx ON artifacts(artifact_id, group_id);
CREATE INDEX indices_artifact_idx ON indices(artifact_id);
CREATE UNIQUE INDEX indices_sha1_idx ON indices(sha1);
"""


def _fnv1a_64(data: bytes) -> int:
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def _page_header(page_id: int, flags: int) -> bytes:
    return struct.pack("<QHHI", page_id, flags, 0, 0)


def empty_bolt() -> bytes:
    """A bbolt database file holding no bucket."""
    pages = bytearray(PAGE_SIZE * 4)
    for txid in (0, 1):
        # magic, version, page size, flags, root bucket (page 3, sequence 0), freelist
        # page, high-water page id, transaction id; then the checksum of those fields
        meta = struct.pack("<IIIIQQQQQ", MAGIC, 2, PAGE_SIZE, 0, 3, 0, 2, 4, txid)
        page = _page_header(txid, META_PAGE) + meta + struct.pack("<Q", _fnv1a_64(meta))
        pages[txid * PAGE_SIZE : txid * PAGE_SIZE + len(page)] = page
    pages[2 * PAGE_SIZE : 2 * PAGE_SIZE + 16] = _page_header(2, FREELIST_PAGE)
    pages[3 * PAGE_SIZE : 3 * PAGE_SIZE + 16] = _page_header(3, LEAF_PAGE)
    return bytes(pages)


def _metadata(schema: int) -> str:
    return json.dumps(
        {
            "Version": schema,
            "NextUpdate": "2099-01-01T00:00:00Z",
            "UpdatedAt": "2024-01-01T00:00:00Z",
            "DownloadedAt": "2024-01-01T00:00:00Z",
        }
    )


def write_empty_trivy_dbs(cache_dir: Path) -> None:
    """The vulnerability DB and the Java DB, both empty, under Trivy's `cache_dir`."""
    db_dir, java_dir = cache_dir / "db", cache_dir / "java-db"
    db_dir.mkdir(parents=True, exist_ok=True)
    java_dir.mkdir(parents=True, exist_ok=True)
    (db_dir / "trivy.db").write_bytes(empty_bolt())
    (db_dir / "metadata.json").write_text(_metadata(TRIVY_DB_SCHEMA))
    java = sqlite3.connect(java_dir / "trivy-java.db")
    try:
        java.executescript(JAVA_DB_TABLES)
    finally:
        java.close()
    (java_dir / "metadata.json").write_text(_metadata(JAVA_DB_SCHEMA))
