"""What each index of PostgreSQL's events costs ingest: server CPU seconds per 100k rows.

A real PostgreSQL 15 (durable settings) and the store's own migrated schema. The rows
are spread as a fleet's are (200 agents and hosts, 10 containers each, 8 event types,
50 process names, ~300-byte bodies, time nearly in order), staged once in the server and
inserted 20,000 at a time (one transaction each, as group commit writes them) into
events holding only the exactly-once key (agent_id, seq, ts), then that key and one
other index, then all of them; also a BRIN index on ts in place of its B-tree. Variants
are interleaved over rounds; each figure is the median of the inserting backend's CPU
time (from /proc, which load distorts far less than wall time) and the marginal cost
over the key alone. Bench data only: the store's tests cover what the indexes serve.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.postgres import PRODUCTION_SETTINGS, start_postgres  # noqa: E402

from stockade.platform.store.pg_partitions import DAY_NS  # noqa: E402
from stockade.platform.store.postgres import PostgresStore  # noqa: E402

ROWS = int(os.environ.get("STOCKADE_BENCH_PG_INDEX_ROWS", "200000"))
ROUNDS = int(os.environ.get("STOCKADE_BENCH_PG_INDEX_ROUNDS", "3"))
CHUNK = 20_000
KEY = "events_agent_id_seq_ts_key"  # the exactly-once key, kept in every variant
COLUMNS = "agent_id, seq, ts, host_id, container_id, type, proc_name, proc_pid, body"
TYPES = "ARRAY['execve','openat','connect','exit','write','accept','dns','mount']"
TICKS = os.sysconf("SC_CLK_TCK")


def _stage(now: int) -> str:
    # row g: agent g % 200 (its own host), its containers in turn, a type and a process
    # name spread over the rows, ts 5 us apart with a little disorder (several CPUs)
    return f"""
        CREATE TABLE stage AS SELECT g,
          'agent-' || lpad((g % 200)::text, 30, '0') AS agent_id,
          (g / 200 + 1)::bigint AS seq,
          ({now} + g * 5000 + (g % 7) * 1000)::bigint AS ts,
          md5('host' || (g % 200)) AS host_id,
          md5('c' || (g % 200) || '-' || (g / 200) % 10) || md5('d' || g % 2000) AS container_id,
          ({TYPES})[1 + (g * 7919) % 8] AS type,
          'proc' || ((g * 31) % 50) AS proc_name,
          (1000 + g % 50)::bigint AS proc_pid,
          convert_to(repeat('x', 280), 'UTF8') AS body
        FROM generate_series(0::bigint, {ROWS - 1}) g"""


def _backend_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


async def _indexes(conn: asyncpg.Connection) -> dict[str, str]:
    """The events table's indexes but its key: name -> definition."""
    rows = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events' AND indexname <> $1",
        KEY,
    )
    # pg_indexes defines a partitioned table's index ON ONLY it: made so, no partition has it
    return {str(r[0]): str(r[1]).replace(" ON ONLY ", " ON ") for r in rows}


def _variants(defined: dict[str, str]) -> dict[str, list[str]]:
    brin = "CREATE INDEX events_ts_brin ON public.events USING brin (ts)"
    variants: dict[str, list[str]] = {"key only": []}
    variants |= {f"+ {name}": [sql] for name, sql in defined.items()}
    variants["+ events_ts as BRIN"] = [brin]
    variants["all (as migrated)"] = list(defined.values())
    return variants


async def _insert_cpu_s(conn: asyncpg.Connection, pid: int, indexes: list[str]) -> float:
    """Backend CPU seconds per 100k rows inserted into events with these indexes."""
    await conn.execute("TRUNCATE events")
    for name in await _indexes(conn):
        await conn.execute(f"DROP INDEX {name}")
    for sql in indexes:
        await conn.execute(sql)
    await conn.execute("CHECKPOINT")
    before = _backend_cpu_s(pid)
    for low in range(0, ROWS, CHUNK):
        await conn.execute(
            f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM stage "
            f"WHERE g >= {low} AND g < {low + CHUNK}"
        )
    return (_backend_cpu_s(pid) - before) * 100_000 / ROWS


async def _measure(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        defined = await _indexes(conn)
        now = time.time_ns() - time.time_ns() % DAY_NS + DAY_NS // 4  # inside today
        await conn.execute(_stage(now))
        pid = int(await conn.fetchval("SELECT pg_backend_pid()"))
        variants = _variants(defined)
        figures: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(ROUNDS):
            for name, indexes in variants.items():
                figures[name].append(await _insert_cpu_s(conn, pid, indexes))
    finally:
        await conn.close()
    base = statistics.median(figures["key only"])
    print(f"events: server CPU s per 100k rows, median of {ROUNDS} ({ROWS:,} rows each)")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"  {name:28s} {median:.3f} (index +{median - base:.3f})")
    print(f"  (load avg {os.getloadavg()[0]:.1f})")


def main() -> int:
    """Migrate a fresh store's schema, then time each index variant's inserts."""
    server = start_postgres(settings=PRODUCTION_SETTINGS)
    try:
        url = server.create_database(template=None)
        PostgresStore(url).close()  # the schema, migrated
        asyncio.run(_measure(url))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
