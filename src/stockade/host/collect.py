"""Collecting the inventory: which scopes (the host, each container), which tables, and
the differences between two collections (what the agent sends)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import msgspec

from stockade.host.procs import all_procs, image_names
from stockade.host.table import TABLES, InventoryTable, Scope
from stockade.model.host_inventory import TableDiff

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder(order="deterministic")

# table -> the rows as JSON objects (the text is the row's identity in a difference)
Snapshot = dict[str, frozenset[bytes]]


def container_scopes(proc: Path = Path("/proc"), shell_history: bool = True) -> list[Scope]:
    """One scope per running container, seen through its lowest PID."""
    first_pid: dict[str, int] = {}
    for p in all_procs(proc):
        if p.container and p.container not in first_pid:
            first_pid[p.container] = p.pid
    images = image_names()
    return [
        Scope(
            root=proc / str(pid) / "root",
            proc=proc,
            pid=pid,
            container=container,
            image=images.get(container, ""),
            shell_history=shell_history,
        )
        for container, pid in sorted(first_pid.items())
    ]


def chosen_tables(names: Iterable[str] | None = None, full: bool = True) -> list[InventoryTable]:
    """The tables named (all when None); without `full`, those that change often are left out."""
    wanted = list(TABLES) if names is None else list(names)
    tables = [TABLES.get(n) for n in wanted]
    return [t for t in tables if full or not t.changes_often]


def collect(tables: list[InventoryTable], scopes: list[Scope]) -> Snapshot:
    """Every table's rows over the scopes (host-only tables from the host scope only)."""
    snapshot: Snapshot = {}
    for t in tables:
        encoded: set[bytes] = set()
        for scope in scopes:
            if t.host_only and scope.pid:
                continue
            try:
                rows = t.collect(scope)
            except Exception as e:  # noqa: BLE001 - one odd file must not stop the inventory
                # (a container that stopped meanwhile, a file in an unexpected shape)
                log.warning("inventory table %s in %s: %s", t.name, scope.container or "host", e)
                continue
            encoded.update(_encoder.encode(r) for r in rows)
        snapshot[t.name] = frozenset(encoded)
    return snapshot


def diff(before: Snapshot, after: Snapshot) -> list[TableDiff]:
    """Rows added and removed per table of `after` (tables absent from it are unchanged)."""
    changes: list[TableDiff] = []
    for name, rows in sorted(after.items()):
        old = before.get(name, frozenset())
        added, removed = rows - old, old - rows
        if added or removed:
            changes.append(
                TableDiff(
                    table=name,
                    added=[msgspec.Raw(r) for r in sorted(added)],
                    removed=[msgspec.Raw(r) for r in sorted(removed)],
                )
            )
    return changes
