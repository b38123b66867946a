"""Fleet correlations' shared state in the store (migration 16), judged in one write
transaction per batch.

The store's write transaction is the one writer at a time (SQLite's lock; on PostgreSQL an
advisory lock), so of two workers holding alerts of one group the second sees the first's
signals, and a correlation met is written once: a fire of the same group whose span ends
within the suppression window of another's suppresses it, and (correlation, group, first
ts) is unique besides. Each alert raised is owed to its incident and the outputs until
`settle` (`sqlite_fleet_outbox.py`): written in the same transaction, so a worker crash
cannot lose those side effects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace

from stockade.detect.fleet import (
    FLEET_AGENT,
    Fire,
    FleetCorrelation,
    FleetKind,
    Signal,
    SignalKind,
    fleet_alert,
    spread_window,
)
from stockade.model.alerts import Alert
from stockade.platform.store import sqlite_fleet_outbox as outbox
from stockade.platform.store.sql import Connection, Database
from stockade.platform.store.sqlite_batches import ALERT_COLUMNS, alert_row

_INSERT_SIGNAL = (
    "INSERT OR IGNORE INTO fleet_signals (correlation, kind, group_key, host_id, ts, "
    "agent_id, seq, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ALERT = (
    f"INSERT OR IGNORE INTO alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({','.join('?' * len(ALERT_COLUMNS))})"
)


class SqliteFleetState:  # a FleetState (stockade.platform.store.fleet)
    """`FleetState` in the store's own database (SQLite or PostgreSQL)."""

    def __init__(self, store: Database) -> None:
        self._store = store

    def judge(
        self,
        specs: Mapping[str, FleetCorrelation],
        signals: Sequence[Signal],
        addresses: Sequence[tuple[str, str, int]],
        now: int,
        origin: tuple[str, int] = ("", 0),
    ) -> list[Alert]:
        """Record, judge and store in one write transaction (see the module's docstring)."""
        with self._store.transaction() as conn:
            # a redelivered batch: what it raised before its worker died is owed still
            alerts = outbox.take_batch(conn, *origin, now)
            for address, host, ts in addresses:
                conn.execute(
                    "INSERT INTO fleet_addresses (address, host_id, seen_ts) VALUES (?, ?, ?) "
                    "ON CONFLICT (address, host_id) DO UPDATE SET seen_ts = excluded.seen_ts",
                    (address, host, ts),
                )
            for signal in signals:
                row = (
                    *(signal.correlation, signal.kind.value, signal.key, signal.host_id),
                    *(signal.ts, signal.agent_id, signal.seq, signal.detail),
                )
                if conn.execute(_INSERT_SIGNAL, row).rowcount != 1:
                    continue  # a batch delivered again: judged the first time
                spec = specs[signal.correlation]
                for fire in _fires(conn, spec, signal):
                    alert = _fire(conn, spec, fire, now)
                    if alert is not None:
                        outbox.add(conn, alert, *origin, now)
                        alerts.append(alert)
        return alerts

    def take_stale(self, claimed_before: int, now: int) -> list[Alert]:
        """Owed fleet alerts whose worker died, taken over by this one."""
        with self._store.transaction() as conn:
            return outbox.take_stale(conn, claimed_before, now)

    def settle(self, seqs: Sequence[int]) -> None:
        """These fleet alerts are in their incidents and the outputs have them."""
        with self._store.transaction() as conn:
            outbox.settle(conn, seqs)

    def prune(self, before_ts: int) -> int:
        """Forget signals older than `before_ts`; how many."""
        with self._store.transaction() as conn:
            return conn.execute("DELETE FROM fleet_signals WHERE ts < ?", (before_ts,)).rowcount


def _fires(conn: Connection, spec: FleetCorrelation, signal: Signal) -> list[Fire]:
    if spec.kind is FleetKind.SPREAD:
        return _spread(conn, spec, signal)
    if signal.kind is SignalKind.CONNECT:
        return _lateral_from_connection(conn, spec, signal)
    return _lateral_from_alert(conn, spec, signal)


def _spread(conn: Connection, spec: FleetCorrelation, signal: Signal) -> list[Fire]:
    rows = conn.execute(
        "SELECT host_id, ts FROM fleet_signals WHERE correlation = ? AND kind = 'alert' "
        "AND group_key = ? AND ts BETWEEN ? AND ? ORDER BY ts, host_id",
        (spec.name, signal.key, signal.ts - spec.window_ns, signal.ts + spec.window_ns),
    ).fetchall()
    found = spread_window([(str(r[0]), int(r[1])) for r in rows], spec.hosts, spec.window_ns)
    if found is None:
        return []
    first, last, hosts = found
    fields: dict[str, str | int | float] = {
        "fleet.group": signal.key,
        "fleet.hosts": len(hosts),
        "fleet.host_ids": ",".join(hosts),
    }
    return [Fire(spec.name, signal.key, first, last, hosts[-1], fields)]


def _lateral_from_connection(
    conn: Connection, spec: FleetCorrelation, signal: Signal
) -> list[Fire]:
    fires = []
    for target in _hosts_of(conn, signal.key) - {signal.host_id}:
        row = conn.execute(
            "SELECT ts, detail FROM fleet_signals WHERE correlation = ? AND kind = 'alert' "
            "AND group_key = ? AND ts BETWEEN ? AND ? ORDER BY ts LIMIT 1",
            (spec.name, target, signal.ts, signal.ts + spec.window_ns),
        ).fetchone()
        if row is not None:
            fires.append(_lateral(spec, signal.host_id, target, signal.key, signal.ts, row))
    return fires


def _lateral_from_alert(conn: Connection, spec: FleetCorrelation, signal: Signal) -> list[Fire]:
    addresses = sorted(_addresses_of(conn, signal.host_id))
    if not addresses:
        return []
    rows = conn.execute(
        "SELECT host_id, group_key, ts FROM fleet_signals WHERE correlation = ? "
        f"AND kind = 'connect' AND group_key IN ({','.join('?' * len(addresses))}) "
        "AND host_id != ? AND ts BETWEEN ? AND ? ORDER BY ts",
        (spec.name, *addresses, signal.host_id, signal.ts - spec.window_ns, signal.ts),
    ).fetchall()
    first: dict[str, tuple[str, int]] = {}
    for source, address, ts in rows:
        first.setdefault(str(source), (str(address), int(ts)))
    return [
        _lateral(spec, source, signal.host_id, address, ts, (signal.ts, signal.detail))
        for source, (address, ts) in first.items()
    ]


def _lateral(
    spec: FleetCorrelation, source: str, target: str, address: str, ts: int, alert: tuple[int, str]
) -> Fire:
    fields: dict[str, str | int | float] = {
        "fleet.source_host": source,
        "fleet.target_host": target,
        "fleet.address": address,
        "fleet.rule": str(alert[1]),
    }
    return Fire(spec.name, f"{source}->{target}", ts, int(alert[0]), target, fields)


def _hosts_of(conn: Connection, address: str) -> set[str]:
    """The hosts that showed `address` as their own (accepted sockets, inventory)."""
    hosts = {
        str(r[0])
        for r in conn.execute("SELECT host_id FROM fleet_addresses WHERE address = ?", (address,))
    }
    inventory = conn.execute(
        "SELECT host_id FROM host_inventory WHERE table_name = 'interface_addresses' "
        "AND row LIKE ?",
        (f'%"address":"{address}"%',),
    )
    return hosts | {str(r[0]) for r in inventory}


def _addresses_of(conn: Connection, host: str) -> set[str]:
    found = {
        str(r[0])
        for r in conn.execute("SELECT address FROM fleet_addresses WHERE host_id = ?", (host,))
    }
    inventory = conn.execute(
        "SELECT row FROM host_inventory WHERE host_id = ? AND table_name = 'interface_addresses'",
        (host,),
    )
    for (row,) in inventory:
        address = json.loads(row).get("address", "")
        if address and not str(address).startswith("127."):
            found.add(str(address))
    return found


def _fire(conn: Connection, spec: FleetCorrelation, fire: Fire, now: int) -> Alert | None:
    """Write the fire and its alert unless the group already fired within the suppression."""
    quiet = conn.execute(
        "SELECT 1 FROM fleet_fires WHERE correlation = ? AND group_key = ? "
        "AND last_ts BETWEEN ? AND ? LIMIT 1",
        (spec.name, fire.group, fire.last_ts - spec.suppress_ns, fire.last_ts + spec.suppress_ns),
    ).fetchone()
    if quiet is not None:
        return None
    key = (spec.name, fire.group, fire.first_ts)
    inserted = conn.execute(
        "INSERT OR IGNORE INTO fleet_fires (correlation, group_key, first_ts, last_ts, "
        "fired_at) VALUES (?, ?, ?, ?, ?)",
        (*key, fire.last_ts, now),
    )
    if inserted.rowcount != 1:
        return None
    row = conn.execute(
        "SELECT id FROM fleet_fires WHERE correlation = ? AND group_key = ? AND first_ts = ?", key
    ).fetchone()
    fields = dict(fire.fields)
    for name in ("fleet.source_host", "fleet.target_host"):
        if name in fields:
            fields[name] = _host_name(conn, str(fields[name]))
    alert = fleet_alert(spec, replace(fire, fields=fields), int(row[0]))
    conn.execute(_INSERT_ALERT, alert_row(conn, FLEET_AGENT, alert, None, now))
    return alert


def _host_name(conn: Connection, host_id: str) -> str:
    """`hostname (host id)`, or the id alone when no agent of the host is known."""
    row = conn.execute(
        "SELECT hostname FROM agents WHERE host_id = ? ORDER BY enrolled_at DESC LIMIT 1",
        (host_id,),
    ).fetchone()
    return f"{row[0]} ({host_id})" if row and row[0] else host_id
