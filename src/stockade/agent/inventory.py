"""The agent's inventory worker: a full collection at start and every 24 h, a collection of
the slow-moving tables when their sources change (inotify wakes it, `SourceWatch`; their
(mtime, size) signature confirms it), listening ports every poll, sending only the
differences to the platform over the agent's mutual TLS. Differences wait on disk in an
`InventoryOutbox` while the platform cannot take them."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import msgspec

from stockade.agent.enroll import Credentials, platform_call
from stockade.agent.errors import TransportError
from stockade.agent.inventory_outbox import InventoryOutbox, encode_diff
from stockade.agent.inventory_watch import SourceWatch
from stockade.host.collect import Snapshot, chosen_tables, collect, container_scopes, diff
from stockade.host.procs import all_procs
from stockade.host.table import Scope
from stockade.model.host_inventory import INVENTORY_PATH, InventoryDiff, TableDiff

log = logging.getLogger(__name__)
FULL_EVERY_S = 24 * 3600.0
POLL_EVERY_S = 60.0
POLLED_TABLES = ("listening_ports",)  # collected at every poll (no file says they changed)
# the files whose change means a slow-moving table changed (a directory's mtime moves when
# an entry is added or removed)
WATCHED = (
    "/var/lib/dpkg/status", "/var/lib/rpm", "/usr/lib/sysimage/rpm", "/lib/apk/db/installed",
    "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/crontab", "/etc/cron.d",
    "/var/spool/cron/crontabs", "/etc/systemd/system", "/lib/systemd/system",
    "/etc/resolv.conf", "/usr/lib/node_modules", "/usr/local/lib/python3.11/dist-packages",
)  # fmt: skip


def signature(paths: tuple[str, ...] = WATCHED) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime ns, size) of each watched path that exists, and the running containers."""
    found = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        found.append((path, st.st_mtime_ns, st.st_size))
    containers = sorted({p.container for p in all_procs() if p.container})
    found += [(c, 0, 0) for c in containers]
    return tuple(found)


@dataclass
class InventoryState:
    """What the platform holds of this host, as far as the agent knows."""

    sent: Snapshot | None = None  # None: nothing acknowledged yet (the next send is full)


class InventoryCollector:
    """Collections and the differences to send: pure of I/O but for reading the host."""

    def __init__(self, host_id: str, shell_history: bool = True, containers: bool = True) -> None:
        self.host_id = host_id
        self.shell_history = shell_history
        self.containers = containers  # False: the host's own view only
        self.state = InventoryState()

    def scopes(self) -> list[Scope]:
        """The host, then each running container."""
        host = Scope(shell_history=self.shell_history)
        if not self.containers:
            return [host]
        return [host, *container_scopes(shell_history=self.shell_history)]

    def changes(
        self, full: bool, names: tuple[str, ...] | None = None
    ) -> tuple[InventoryDiff, Snapshot]:
        """Collect (all tables when `full`, else the slow-moving ones, or those named) and
        diff them with what was sent."""
        snapshot = collect(chosen_tables(names, full=full or names is not None), self.scopes())
        now = time.time_ns()
        if self.state.sent is None:
            tables = [
                TableDiff(table=name, added=[msgspec.Raw(r) for r in sorted(rows)])
                for name, rows in sorted(snapshot.items())
            ]
            return InventoryDiff(
                host_id=self.host_id, collected_at=now, full=True, tables=tables
            ), snapshot
        return InventoryDiff(
            host_id=self.host_id, collected_at=now, tables=diff(self.state.sent, snapshot)
        ), snapshot

    def sent(self, snapshot: Snapshot) -> None:
        """The platform stored the differences leading to `snapshot`."""
        merged = dict(self.state.sent or {})
        merged.update(snapshot)
        self.state.sent = merged


class InventorySender:
    """POSTs inventory differences to the platform's agent port."""

    def __init__(self, server_url: str, credentials: Credentials, timeout_s: float = 30) -> None:
        self._url = server_url.rstrip("/") + INVENTORY_PATH
        self._client = httpx.Client(verify=credentials.ssl_context(), timeout=timeout_s)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def send(self, diff_: InventoryDiff) -> None:
        """Store the difference on the platform; TransportError when it did not."""
        platform_call(
            self._client,
            "POST",
            self._url,
            "inventory",
            content=encode_diff(diff_),
            headers={"content-type": "application/json", "content-encoding": "zstd"},
        )


class InventoryWorker:
    """A thread: full collection at start and every `full_every_s`; on change in between."""

    def __init__(
        self,
        collector: InventoryCollector,
        send: Callable[[InventoryDiff], None],
        poll_every_s: float = POLL_EVERY_S,
        full_every_s: float = FULL_EVERY_S,
        on_stop: Callable[[], None] | None = None,
        outbox: InventoryOutbox | None = None,
    ) -> None:
        self.collector = collector
        self._send = send
        self.outbox = outbox
        self.poll_every_s = poll_every_s
        self.full_every_s = full_every_s
        self._on_stop = on_stop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stockade-inventory", daemon=True)
        self.sent_bytes = 0
        self.collections = 0

    def start(self) -> InventoryWorker:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        self._thread.join()
        if self._on_stop is not None:
            self._on_stop()

    def round(self, full: bool, names: tuple[str, ...] | None = None) -> InventoryDiff:
        """One collection; its differences are sent (or wait in the outbox) when there are any.

        TransportError when the platform did not take them: with an outbox they wait
        there, in order, for the next round.
        """
        changes, snapshot = self.collector.changes(full, names)
        self.collections += 1
        if changes.tables or changes.full:
            if self.outbox is None:
                self._send(changes)
            elif not self.outbox.put(changes):
                log.warning("inventory: too much waiting for the platform; sending it whole")
                self.outbox.clear()
                self.collector.state.sent = None
                changes, snapshot = self.collector.changes(True)
                self.outbox.put(changes)
            self.sent_bytes += len(encode_diff(changes))
        self.collector.sent(snapshot)
        if self.outbox is not None:
            self.outbox.drain(self._send)
        return changes

    def _run(self) -> None:
        watch = SourceWatch(WATCHED)
        try:
            self._rounds(watch)
        finally:
            watch.close()

    def _rounds(self, watch: SourceWatch) -> None:
        last_full = 0.0
        seen: tuple[tuple[str, int, int], ...] = ()
        while not self._stop.is_set():
            now = time.monotonic()
            full = not last_full or now - last_full >= self.full_every_s
            current = signature()
            try:
                if self.outbox is not None:
                    self.outbox.drain(self._send)  # what waited from an outage, first
                if full or current != seen:
                    self.round(full)
                    seen = current
                    last_full = now if full else last_full
                else:  # a port opens without any file changing: its table is polled
                    self.round(False, POLLED_TABLES)
            except TransportError as e:
                if self.outbox is None:
                    log.warning("%s; the inventory is sent whole next time", e)
                    self.collector.state.sent = None
                else:
                    log.warning("%s; %d inventory differences wait", e, len(self.outbox))
            watch.wait(self.poll_every_s, self._stop)
