"""Agent cost of the host inventory: a full collection (every table, the host and each
running container), and the difference sent when nothing changed.

Each run is one `InventoryCollector.changes(full=True)` in this process, timed by CPU
(user + system of this process, `time.process_time`) and wall clock; printed as medians
of RUNS runs with the row and scope counts. Then the size of what the agent sends: the
first full collection (zstd of its JSON, as posted), and a second change-triggered
collection made at once (the slow-moving tables only, as after a file change): with
nothing changed on the host it holds only what containers of other work changed meanwhile;
the same for the host's own view alone (no containers), where nothing changed means
nothing is sent.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

import msgspec  # noqa: E402

from stockade.agent.hostinfo import host_id  # noqa: E402
from stockade.agent.inventory import (  # noqa: E402
    POLL_EVERY_S,
    POLLED_TABLES,
    InventoryCollector,
    signature,
)
from stockade.agent.inventory_outbox import encode_diff  # noqa: E402

RUNS = 5


def main() -> int:
    """Print the figures as `name: value unit`."""
    collector = InventoryCollector(host_id(None) or "bench-host")
    cpu, wall, rows = [], [], 0
    for _ in range(RUNS):
        collector.state.sent = None
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        diff, snapshot = collector.changes(full=True)
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
        rows = sum(len(v) for v in snapshot.values())
    scopes = len(collector.scopes())
    print(f"inventory_tables: {len(snapshot)} tables")
    print(f"inventory_scopes: {scopes} (host + running containers)")
    print(f"inventory_rows: {rows} rows")
    print(f"inventory_full_cpu: {statistics.median(cpu) * 1000:.0f} ms (median of {RUNS})")
    print(f"inventory_full_wall: {statistics.median(wall) * 1000:.0f} ms (median of {RUNS})")
    print(f"inventory_full_sent: {len(encode_diff(diff)) / 1024:.1f} KiB zstd "
          f"({len(msgspec.json.encode(diff)) / 1024:.1f} KiB JSON)")  # fmt: skip
    collector.sent(snapshot)
    cpu_start = time.process_time()
    again, _ = collector.changes(full=False)
    changed_cpu = time.process_time() - cpu_start
    changed_rows = sum(len(t.added) + len(t.removed) for t in again.tables)
    print(f"inventory_unchanged_cpu: {changed_cpu * 1000:.0f} ms (slow-moving tables)")
    changed_tables = ", ".join(t.table for t in again.tables) or "none"
    print(f"inventory_unchanged_sent: {len(encode_diff(again)) if again.tables else 0} bytes, "
          f"{changed_rows} rows in: {changed_tables}")  # fmt: skip
    cpu_start = time.process_time()
    signature()  # what each poll checks for changed files and containers
    collector.changes(full=False, names=POLLED_TABLES)
    poll_ms = (time.process_time() - cpu_start) * 1000
    share = poll_ms / POLL_EVERY_S / 10  # ms per s of wall, as a percentage of one core
    print(f"inventory_poll_cpu: {poll_ms:.0f} ms per poll (signature + {', '.join(POLLED_TABLES)}) "
          f"(every {POLL_EVERY_S:.0f} s: {share:.2f} % of a core)")  # fmt: skip
    host_only = InventoryCollector(collector.host_id, containers=False)
    _, host_snapshot = host_only.changes(full=False)
    host_only.sent(host_snapshot)
    quiet, _ = host_only.changes(full=False)
    # the worker posts nothing when no table changed; an empty difference would be this big
    sent = len(encode_diff(quiet)) if quiet.tables else 0
    print(f"inventory_unchanged_sent_host_only: {sent} bytes "
          f"({sum(len(t.added) + len(t.removed) for t in quiet.tables)} rows changed in: "
          f"{', '.join(t.table for t in quiet.tables) or 'none'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
