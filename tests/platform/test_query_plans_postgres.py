"""On PostgreSQL too, every filter the user API offers reads an index in time order.

The plans are PostgreSQL's own (EXPLAIN (FORMAT JSON) of the statements the store runs,
translated as the store translates them) over day partitions filled with 30,000 events and
alerts spread as a fleet's (20 hosts, 50 containers, 8 types, 7 process names, and one rare
value of each filter) and ANALYZEd, as autovacuum does on a live server. Each partition is
read through an index, never scanned whole; a rare value through its filter's index. As
PostgreSQL's indexes, unlike SQLite's, do not end in the row id, the tie-break on id is an
incremental sort of equal times, or a sort of a rare value's few rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
import pytest

from stockade.platform.store import AgentRecord, sqlite_queries
from stockade.platform.store.base import AlertQuery, EventQuery
from stockade.platform.store.dialect import PostgresDialect
from stockade.platform.store.pg_connection import PgConnection
from stockade.platform.store.pg_partitions import DAY_NS, partition_start
from stockade.platform.store.postgres import PostgresStore
from tests.support.agent_client import make_alert, make_event
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.server

ROWS = 30_000
HOSTS = 20
STEP_NS = 3 * DAY_NS // ROWS  # over today and the two days ahead
RARE_CONTAINER = "f" * 64
COMMON_CONTAINER = f"{7:064x}"
SORTED_AT_MOST = 300  # estimated rows: the API's default limit is 100


class _Recorder:
    """A connection that runs statements on the store's own and remembers them."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn
        self.statements: list[tuple[str, Sequence[Any]]] = []

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        """Run and remember one statement."""
        self.statements.append((sql, parameters))
        return self.conn.execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        """Run one statement per row (not remembered: queries run none)."""
        return self.conn.executemany(sql, parameters)


def _fill(conn: PgConnection, now: int) -> None:
    """ROWS events and alerts over the three day partitions the store made ahead; each
    filter has common values and one rare value (one row in 1,000)."""
    start = partition_start(now)
    common = (
        f"CASE WHEN i % 1000 = 1 THEN 'agent-rare' ELSE 'agent-' || (i % {HOSTS}) END, i, "
        f"{start} + i * {STEP_NS}, "
        f"CASE WHEN i % 1000 = 1 THEN 'host-rare' ELSE 'host-' || (i % {HOSTS}) END, "
        f"CASE WHEN i % 1000 = 2 THEN '{RARE_CONTAINER}' WHEN i % 3 = 0 THEN 'host' "
        "ELSE lpad(to_hex(i % 50), 64, '0') END"
    )
    types = "(ARRAY['execve','openat','connect','accept','close','read','write','unlinkat'])"
    conn.execute(
        "INSERT INTO events (agent_id, seq, ts, host_id, container_id, type, proc_name, "
        f"proc_pid, body) SELECT {common}, "
        f"CASE WHEN i % 1000 = 3 THEN 'ptrace' ELSE {types}[1 + i % 8] END, "
        "CASE WHEN i % 1000 = 4 THEN 'rare-proc' ELSE 'proc-' || (i % 7) END, i, ? "
        f"FROM generate_series(0, {ROWS} - 1) AS i",
        (msgspec.msgpack.encode(make_event(1, now)),),
    )
    priorities = "(ARRAY['Critical','Error','Warning','Notice','Informational'])"
    conn.execute(
        "INSERT INTO alerts (agent_id, seq, ts, host_id, container_id, event_seq, rule, "
        "priority, priority_num, output, proc_name, proc_pid, proc_cmdline, body) "
        f"SELECT {common}, i, "
        "CASE WHEN i % 1000 = 5 THEN 'rare-rule' ELSE 'rule-' || (i % 40) END, "
        f"CASE WHEN i % 1000 = 6 THEN 'Emergency' ELSE {priorities}[1 + i % 5] END, "
        "CASE WHEN i % 1000 = 6 THEN 0 ELSE 2 + i % 5 END, '', 'proc', i, '', ? "
        f"FROM generate_series(0, {ROWS} - 1) AS i",
        (msgspec.json.encode(make_alert(1, make_event(1, now))).decode(),),
    )
    conn.execute("ANALYZE events")
    conn.execute("ANALYZE alerts")


@pytest.fixture(scope="module")
def store(postgres: PostgresServer) -> Iterator[PostgresStore]:
    s = PostgresStore(postgres.create_database())
    for h in [*map(str, range(HOSTS)), "rare"]:
        s.add_agent(
            AgentRecord(
                id=f"agent-{h}",
                hostname=f"node-{h}",
                host_id=f"host-{h}",
                cert_fingerprint=f"f{h}",
                enrolled_at=1,
            )
        )
    _fill(s.connection(), time.time_ns())
    yield s
    s.close()


def _parent_index(conn: PgConnection, index: str) -> str:
    """The partitioned table's index a partition's index belongs to (itself if none)."""
    row = conn.execute(
        "SELECT p.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE c.relname = ?",
        (index,),
    ).fetchone()
    return str(row[0]) if row else index


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(store: PostgresStore, query: EventQuery | AlertQuery, table: str) -> list[dict[str, Any]]:
    """The plan nodes of the statement `query` reads `table` with."""
    conn = store.connection()
    recorder = _Recorder(conn)
    if isinstance(query, EventQuery):
        sqlite_queries.query_events(recorder, query)
    else:
        sqlite_queries.query_alerts(recorder, query)
    ((sql, parameters),) = [
        s for s in recorder.statements if f"FROM {table}" in s[0] and "ORDER BY" in s[0]
    ]
    translated = PostgresDialect().translate(sql).sql  # SELECTs need no catalog
    (document,) = json.loads(
        conn.call(conn.raw.fetchval(f"EXPLAIN (FORMAT JSON) {translated}", *parameters))
    )
    return list(_nodes(document["Plan"]))


def _indexes_read(store: PostgresStore, nodes: list[dict[str, Any]], table: str) -> set[str]:
    """The parent indexes the plan reads `table`'s partitions through. Never a whole scan,
    and no sort of every matching row of a common value: a sort takes at most a few hundred
    rows (a rare value's, or the merge of a host filter's limited selects)."""
    scans = [n for n in nodes if str(n.get("Relation Name", "")).startswith(f"{table}_p")]
    assert scans, nodes
    kinds = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
    assert all(n["Node Type"] in kinds for n in scans), scans
    sorts = [n for n in nodes if n["Node Type"] == "Sort"]
    assert all(n["Plan Rows"] <= SORTED_AT_MOST for n in sorts), sorts
    read = {
        _parent_index(store.connection(), str(n["Index Name"])) for n in nodes if "Index Name" in n
    }
    return {name for name in read if name.startswith(f"{table}_")}


def _window() -> tuple[int, int]:
    """A 5 % window of the stored times, in the middle."""
    start = partition_start(time.time_ns()) + ROWS // 2 * STEP_NS
    return start, start + ROWS // 20 * STEP_NS


# The filter's own index for a rare value; for a common one, the planner may as well read
# the time index newest first and keep the matching rows (it stops after `limit` of them).
@pytest.mark.parametrize(
    ("query", "index", "rare"),
    [
        (EventQuery(proc_name="rare-proc"), "events_proc_name_ts", True),
        (EventQuery(proc_name="proc-3"), "events_proc_name_ts", False),
        (EventQuery(type="ptrace"), "events_type_ts", True),
        (EventQuery(type="execve"), "events_type_ts", False),
        (EventQuery(host="node-rare"), "events_host_ts", True),
        (EventQuery(host="node-1"), "events_host_ts", False),
        (EventQuery(container=RARE_CONTAINER), "events_container_ts", True),
        (EventQuery(container=COMMON_CONTAINER), "events_container_ts", False),
        (EventQuery(since=_window()[0], until=_window()[1]), "events_ts", True),
        (EventQuery(), "events_ts", True),
    ],
    ids=[f"{f}-{v}" for f in ("proc_name", "type", "host", "container") for v in ("rare", "common")]
    + ["since-until", "none"],
)
def test_event_filters_read_an_index(
    store: PostgresStore, query: EventQuery, index: str, rare: bool
) -> None:
    read = _indexes_read(store, _plan(store, query, "events"), "events")
    assert read == {index} if rare else read <= {index, "events_ts"}, read


@pytest.mark.parametrize(
    ("query", "indexes", "rare"),
    [
        (AlertQuery(rule="rare-rule"), {"alerts_rule_ts"}, True),
        (AlertQuery(rule="rule-1"), {"alerts_rule_ts"}, False),
        (AlertQuery(priority="emergency"), {"alerts_priority_ts"}, True),
        (AlertQuery(priority="warning"), {"alerts_priority_ts"}, False),
        (AlertQuery(host="node-rare"), {"alerts_host_ts", "alerts_agent_ts"}, True),
        (AlertQuery(host="node-1"), {"alerts_host_ts", "alerts_agent_ts"}, False),
        (AlertQuery(container=RARE_CONTAINER), {"alerts_container_ts"}, True),
        (AlertQuery(container=COMMON_CONTAINER), {"alerts_container_ts"}, False),
        (AlertQuery(min_priority=0), {"alerts_priority_num_ts"}, True),
        (AlertQuery(min_priority=4), {"alerts_priority_num_ts"}, False),
    ],
    ids=[
        f"{f}-{v}"
        for f in ("rule", "priority", "host", "container", "min_priority")
        for v in ("rare", "common")
    ],
)
def test_alert_filters_read_an_index(
    store: PostgresStore, query: AlertQuery, indexes: set[str], rare: bool
) -> None:
    read = _indexes_read(store, _plan(store, query, "alerts"), "alerts")
    assert read <= indexes if rare else read <= {*indexes, "alerts_ts"}, read
