"""Scanned images in SQLite: one row per digest (its latest scan's summary) and each
scanner's scan of it as a msgpack blob (agent id "" for a user's upload).

A scanner's new scan of a digest replaces only that scanner's older one; the image's
first_seen and the names it was known by are carried over.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import msgspec

from stockade.model.inventory import ScanResult
from stockade.platform.store.base import ImageQuery, ImageRecord, StoredScan
from stockade.platform.store.sql import Connection

_COLUMNS = (
    "digest, names_json, os, first_seen, last_seen, scanned_at, agent_id, target, packages, "
    "by_severity_json, by_kind_json, max_severity"
)
_result_decoder = msgspec.msgpack.Decoder(ScanResult)


def _row(image: ImageRecord) -> tuple[Any, ...]:
    return (
        image.digest,
        json.dumps(list(image.names)),
        image.os,
        image.first_seen,
        image.last_seen,
        image.scanned_at,
        image.agent_id,
        image.target,
        image.packages,
        json.dumps(image.by_severity),
        json.dumps(image.by_kind),
        image.max_severity,
    )


def _record(row: tuple[Any, ...]) -> ImageRecord:
    return ImageRecord(
        digest=row[0],
        names=tuple(json.loads(row[1])),
        os=row[2],
        first_seen=row[3],
        last_seen=row[4],
        scanned_at=row[5],
        agent_id=row[6],
        target=row[7],
        packages=row[8],
        by_severity=json.loads(row[9]),
        by_kind=json.loads(row[10]),
        max_severity=row[11],
    )


def _get(conn: Connection, digest: str) -> ImageRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM images WHERE digest = ?", (digest,)).fetchone()
    return _record(row) if row else None


def store_scan(conn: Connection, image: ImageRecord, result: ScanResult) -> ImageRecord:
    """Insert or replace the image row and its scan (inside the caller's transaction)."""
    before = _get(conn, image.digest)
    if before is not None:
        names = tuple(dict.fromkeys((*before.names, *image.names)))
        image = replace(image, names=names, first_seen=min(before.first_seen, image.first_seen))
    conn.execute(f"INSERT OR REPLACE INTO images ({_COLUMNS}) VALUES ({_marks(12)})", _row(image))
    conn.execute(
        "INSERT OR REPLACE INTO agent_image_scans (digest, agent_id, scanned_at, result) "
        "VALUES (?, ?, ?, ?)",
        (image.digest, image.agent_id, image.scanned_at, msgspec.msgpack.encode(result)),
    )
    return image


def has_scan(conn: Connection, digest: str, agent_id: str) -> bool:
    """True when `agent_id` or a user (agent id "") stored a scan of `digest`."""
    row = conn.execute(
        "SELECT 1 FROM agent_image_scans WHERE digest = ? AND agent_id IN (?, '')",
        (digest, agent_id),
    ).fetchone()
    return row is not None


def agent_may_scan(conn: Connection, agent_id: str, digest: str) -> bool:
    """True when the agent's own containers ran `digest` or a user asked for a scan of it."""
    row = conn.execute(
        "SELECT 1 FROM containers WHERE agent_id = ? AND image_digest = ? "
        "UNION ALL SELECT 1 FROM scan_requests WHERE digest = ? LIMIT 1",
        (agent_id, digest, digest),
    ).fetchone()
    return row is not None


def list_images(conn: Connection, query: ImageQuery) -> list[ImageRecord]:
    """Images matching the query, most recently scanned first."""
    terms: list[str] = []
    params: list[Any] = []
    if query.name:
        terms.append("(instr(lower(names_json), lower(?)) > 0 OR digest LIKE ? || '%')")
        params += [query.name, query.name]
    if query.min_severity is not None:
        terms.append("max_severity >= ?")
        params.append(query.min_severity)
    where = f"WHERE {' AND '.join(terms)}" if terms else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM images {where} ORDER BY scanned_at DESC, digest LIMIT ?",
        (*params, query.limit),
    )
    return [_record(r) for r in rows]


def get_scan(conn: Connection, digest: str) -> StoredScan | None:
    """The image and its latest scan (by whoever made it: `image.agent_id`)."""
    image = _get(conn, digest)
    if image is None:
        return None
    row = conn.execute(
        "SELECT result FROM agent_image_scans WHERE digest = ? AND agent_id = ?",
        (digest, image.agent_id),
    ).fetchone()
    if row is None:
        return None
    return StoredScan(image=image, result=_result_decoder.decode(row[0]))


def _marks(n: int) -> str:
    return ",".join("?" * n)
