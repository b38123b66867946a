"""Hunting over a large store: p50/p95 of hunts over 10 M stored events (goal: p95 <= 1 s).

Builds a store with the platform's own schema holding STOCKADE_BENCH_HUNT_EVENTS events
(default 10 M) spread over the last 7 days: rows are inserted with executemany with the
events indexes dropped, then the indexes are rebuilt. The file is kept under
STOCKADE_BENCH_HUNT_DIR (default: a temporary directory) and reused when its row count
matches. Each hunt then runs as `POST /api/v1/hunt` runs it (`run_hunt`: its own read-only
connection, the views, the authorizer, the window), RUNS times.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from stockade.hunt.engine import HuntQuery, run_hunt
from stockade.platform.store.migrations import migrate

EVENTS = int(os.environ.get("STOCKADE_BENCH_HUNT_EVENTS", "10000000"))
SPAN_NS = 7 * 24 * 3600 * 10**9
HOUR = 3600 * 10**9
CHUNK = 200_000
RUNS = 20
TYPES = ["execve", "openat", "connect", "accept", "unlink", "setuid", "ptrace"]
NAMES = ["sh", "bash", "curl", "nginx", "python3", "java", "nc", "sshd", "cron", "node"]
INSERT = (
    "INSERT INTO events (agent_id, seq, ts, host_id, container_id, type, proc_name, "
    "proc_pid, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, x'')"
)


def _rows(start: int, stop: int, t0: int) -> Iterator[tuple[object, ...]]:
    rng = random.Random(start)
    step = SPAN_NS // EVENTS
    for i in range(start, stop):
        host = i % 50
        yield (
            f"agent-{host}",
            i,
            t0 + i * step,
            f"host-{host}",
            f"{rng.randrange(2000):064x}" if i % 3 else "",
            TYPES[rng.randrange(len(TYPES))],
            NAMES[rng.randrange(len(NAMES))],
            rng.randrange(1, 4_000_000),
        )


def build(path: Path, now: int) -> None:
    """A store holding EVENTS events up to `now` (kept when it already does)."""
    if path.exists():
        conn = sqlite3.connect(path)
        count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        conn.close()
        if count == EVENTS:
            return
        path.unlink()
    conn = sqlite3.connect(path)
    migrate(conn)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.executescript("DROP INDEX events_ts; DROP INDEX events_container_ts;")
    started = time.perf_counter()
    t0 = now - SPAN_NS
    for start in range(0, EVENTS, CHUNK):
        conn.executemany(INSERT, _rows(start, min(EVENTS, start + CHUNK), t0))
        conn.commit()
    conn.executescript(
        "CREATE INDEX events_ts ON events (ts);"
        "CREATE INDEX events_container_ts ON events (container_id, ts);"
    )
    conn.close()
    print(f"built {EVENTS} events in {time.perf_counter() - started:.0f} s")


def hunts(now: int) -> dict[str, HuntQuery]:
    """The timed hunts, by name."""
    hour_ago = now - HOUR
    return {
        "execs per process, last hour": HuntQuery(
            "SELECT proc_name, count(*) AS n FROM events WHERE evt_type = 'execve' "
            "GROUP BY proc_name ORDER BY n DESC LIMIT 20",
            since=hour_ago,
        ),
        "nc connects, last hour": HuntQuery(
            "SELECT time, host_id, container_id, proc_pid FROM events "
            "WHERE proc_name = 'nc' AND evt_type = 'connect' ORDER BY time DESC",
            since=hour_ago,
        ),
        "one container, last 24 h": HuntQuery(
            f"SELECT evt_type, count(*) FROM events WHERE container_id = '{1234:064x}' "
            "GROUP BY evt_type"
        ),
        "hosts with ptrace, last 6 h": HuntQuery(
            "SELECT host_id, count(*) FROM events WHERE evt_type = 'ptrace' GROUP BY host_id",
            since=now - 6 * HOUR,
        ),
    }


def main() -> None:
    """Build (or reuse) the store, then time each hunt and print p50/p95."""
    now = time.time_ns()
    where = os.environ.get("STOCKADE_BENCH_HUNT_DIR") or tempfile.mkdtemp(prefix="bench-hunt-")
    path = Path(where) / "stockade.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    build(path, now)
    everything: list[float] = []
    for name, query in hunts(now).items():
        times = []
        rows = 0
        for _ in range(RUNS):
            started = time.perf_counter()
            rows = len(run_hunt(path, query, now).rows)
            times.append(time.perf_counter() - started)
        everything += times
        p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
        print(f"{name}: {rows} rows, p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    p95 = statistics.quantiles(everything, n=20)[-1]
    print(f"hunts over {EVENTS} events: p95 {p95 * 1000:.0f} ms (goal <= 1000 ms)")


if __name__ == "__main__":
    main()
