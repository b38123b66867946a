"""The fleet alerts' outbox (migration 18): which alerts still owe their side effects.

A fleet alert is written with its outbox row in the transaction that judged it; the row
goes once the alert is in its incident and the outputs have it. A worker that dies in
between leaves the row: the batch that raised the alert, redelivered to any worker, takes
it over (`take_batch`), and a row no worker touched for long is taken by the next judge
(`take_stale`). Taking re-stamps the row, so two workers never take one row at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from stockade.detect.fleet import FLEET_AGENT
from stockade.model.alerts import Alert
from stockade.platform.store.sql import Connection

_decoder = msgspec.json.Decoder(Alert)


def add(conn: Connection, alert: Alert, agent_id: str, batch_seq: int, now: int) -> None:
    """Owe the alert's side effects (inside the transaction that stored it)."""
    conn.execute(
        "INSERT INTO fleet_outbox (seq, agent_id, batch_seq, claimed_at) VALUES (?, ?, ?, ?)",
        (alert.seq, agent_id, batch_seq, now),
    )


def take_batch(conn: Connection, agent_id: str, batch_seq: int, now: int) -> list[Alert]:
    """The alerts a batch raised whose side effects are still owed (a redelivery)."""
    rows = conn.execute(
        "SELECT seq FROM fleet_outbox WHERE agent_id = ? AND batch_seq = ?", (agent_id, batch_seq)
    ).fetchall()
    return _take(conn, [int(r[0]) for r in rows], now)


def take_stale(conn: Connection, claimed_before: int, now: int) -> list[Alert]:
    """Owed alerts no worker has touched since `claimed_before` (theirs died)."""
    rows = conn.execute(
        "SELECT seq FROM fleet_outbox WHERE claimed_at < ? ORDER BY seq", (claimed_before,)
    ).fetchall()
    return _take(conn, [int(r[0]) for r in rows], now)


def _take(conn: Connection, seqs: Sequence[int], now: int) -> list[Alert]:
    alerts = []
    for seq in seqs:
        conn.execute("UPDATE fleet_outbox SET claimed_at = ? WHERE seq = ?", (now, seq))
        row = conn.execute(
            "SELECT body FROM alerts WHERE agent_id = ? AND seq = ?", (FLEET_AGENT, seq)
        ).fetchone()
        if row is None:  # the alert is gone (retention): nothing left to deliver
            conn.execute("DELETE FROM fleet_outbox WHERE seq = ?", (seq,))
            continue
        alerts.append(_decoder.decode(row[0]))
    return alerts


def settle(conn: Connection, seqs: Sequence[int]) -> None:
    """The alerts' side effects are done: forget them."""
    for seq in seqs:
        conn.execute("DELETE FROM fleet_outbox WHERE seq = ?", (seq,))
