"""`FimMonitor`: the agent's file integrity monitoring, live and by rescan.

At start it rescans the watched files and compares them with the baseline saved on
disk, so changes made while the agent was down are reported (found by rescan, no
writer). Then fanotify reports writes, creations, deletions, renames and attribute
changes as they happen, with the process that made them; a rescan every
`rescan_interval_s` (and at once after the kernel's event queue overflowed) catches
whatever the live events missed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from stockade.host import fim_store
from stockade.host.fim_alerts import Writer, fim_alert
from stockade.host.fim_compare import FileChange, change_of, compare
from stockade.host.fim_containers import container_roots
from stockade.host.fim_content import ContentCache, unified_diff
from stockade.host.fim_pace import AlertPacer
from stockade.host.fim_policy import FimPolicy
from stockade.host.fim_scan import FileState, file_state, scan
from stockade.host.fim_watch import FanotifyWatcher, Touch
from stockade.model import Alert

log = logging.getLogger(__name__)
HOST_SCOPE = "host"
SAVE_EVERY_S = 5.0  # at least; a baseline that is costly to write waits longer
SAVE_COST_SHARE = 0.005  # saving takes at most this share of a core
COALESCE_S = 0.5  # writes to one file within this window are checked (and alerted) once
Key = tuple[str, str]  # (root, path)


class FimMonitor:
    """Baseline per scope (host, each container), kept on disk, compared on every change."""

    def __init__(self, policy: FimPolicy, state_dir: Path, host_id: str, root: str = "/") -> None:
        self.policy = policy
        self.host_id = host_id
        self.root = root
        self._path = state_dir / "fim" / "baseline.msgpack"
        self._scopes: fim_store.Scopes = {}
        self._texts = ContentCache(policy.diff_max_bytes, policy.content_budget_bytes)
        self._roots: dict[str, str] = {}  # scope -> root directory
        self._watcher: FanotifyWatcher | None = None
        self._pending: dict[Key, Touch] = {}  # (root, path) -> its latest change
        self._pacer = AlertPacer(COALESCE_S)  # hot files wait longer between alerts
        self._last_check = 0.0
        self._dirty = False
        self._last_save = self._last_rescan = 0.0
        self._save_every_s = SAVE_EVERY_S

    def start(self, *, live: bool = True) -> list[Alert]:
        """Rescan against the saved baseline (alerts for what changed), then start watching."""
        stored = fim_store.load(self._path)
        if stored is not None:
            self._scopes = stored.scopes
            for key, text in stored.texts.items():
                self._texts.put(key, text.encode())
        if live:
            self._watcher = FanotifyWatcher(self.policy)
            log.info("fim: %d host directories marked", self._watcher.mark_host())
        alerts = self.rescan(report=stored is not None)
        self.save()
        return alerts

    def rescan(self, *, report: bool = True) -> list[Alert]:
        """Hash every watched file of the host and the running containers; alert on changes."""
        self._last_rescan = time.monotonic()
        roots = {HOST_SCOPE: self.root}
        if self.policy.containers:
            roots |= {cid: mount for mount, cid in container_roots().items()}
        alerts: list[Alert] = []
        for scope, root in roots.items():
            alerts += self._rescan_scope(scope, root, report=report)
        for gone in set(self._scopes) - set(roots):
            del self._scopes[gone]
        self._roots = roots
        return alerts

    def _rescan_scope(self, scope: str, root: str, *, report: bool) -> list[Alert]:
        new_scope = scope not in self._scopes
        before = self._scopes.get(scope, {})
        after = scan(root, self.policy, before)
        if self._watcher is not None and scope != HOST_SCOPE and scope not in self._roots:
            self._watcher.mark_container(root, scope)
        self._scopes[scope] = after
        self._dirty = True
        if new_scope:  # a container seen for the first time: its files are the baseline
            self._remember_texts(scope, root, after)
            return []
        writer = Writer(container_id=scope) if scope != HOST_SCOPE else None
        alerts = [self._update(scope, root, c, writer) for c in compare(before, after)]
        return alerts if report else []

    def _remember_texts(self, scope: str, root: str, states: dict[str, FileState]) -> None:
        for path, state in states.items():
            self._remember_text(scope, root, path, state)

    def _remember_text(self, scope: str, root: str, path: str, state: FileState | None) -> None:
        key = f"{scope}:{path}"
        if (
            state is None
            or state.size > self.policy.diff_max_bytes
            or state.mode & 0o170000 != 0o100000
        ):
            self._texts.discard(key)
            return
        try:
            self._texts.put(key, Path(root.rstrip("/") + path).read_bytes()[: state.size])
        except OSError:
            self._texts.discard(key)

    def _update(self, scope: str, root: str, change: FileChange, writer: Writer | None) -> Alert:
        """Keep the new text of a changed file and make its alert, with a diff where known."""
        key = f"{scope}:{change.path}"
        before_text = self._texts.get(key) if change.before is not None else ""
        self._remember_text(scope, root, change.path, change.after)
        after_text = self._texts.get(key) if change.after is not None else ""
        diff = ""
        if "sha256" in change.changed and before_text is not None and after_text is not None:
            diff = unified_diff(change.path, before_text, after_text)
        return fim_alert(change, writer, diff, self.host_id)

    def poll(self, timeout_s: float) -> list[Alert]:
        """Alerts for watched files written within `timeout_s`; rescans and saves when due."""
        alerts: list[Alert] = []
        if self._watcher is not None:
            for touch in self._watcher.poll(timeout_s):
                self._pending[(touch.root, touch.path)] = touch
        now = time.monotonic()
        overflowed = self._watcher is not None and self._watcher.overflowed
        if self._watcher is not None and overflowed:
            self._watcher.overflowed = False
            log.warning("fim: the kernel's event queue overflowed; rescanning")
        if self._pending and now - self._last_check >= COALESCE_S:
            self._last_check = now
            alerts += self.flush(everything=False)
        if overflowed or now - self._last_rescan > self.policy.rescan_interval_s:
            alerts += self.rescan()
        if self._dirty and now - self._last_save > self._save_every_s:
            self.save()
        return alerts

    def flush(self, *, everything: bool = True) -> list[Alert]:
        """Alerts for the changes waiting (only those whose file is due unless `everything`)."""
        now = time.monotonic()
        alerts = []
        for key, touch in list(self._pending.items()):
            if not everything and not self._pacer.due(key, now):
                continue
            del self._pending[key]
            alert = self._check(touch)
            if alert is not None:
                self._pacer.alerted(key, now)
                alerts.append(alert)
        return alerts

    def _check(self, touch: Touch) -> Alert | None:
        scope = HOST_SCOPE if touch.root == "/" else touch.writer.container_id
        if scope not in self._scopes:
            scope = next((s for s, r in self._roots.items() if r == touch.root), scope)
        states = self._scopes.setdefault(scope, {})
        before = states.get(touch.path)
        after = file_state(touch.root.rstrip("/") + touch.path, before)
        change = change_of(touch.path, before, after)
        if change is None:
            return None
        if after is None:
            states.pop(touch.path, None)
        else:
            states[touch.path] = after
        self._dirty = True
        return self._update(scope, touch.root, change, touch.writer)

    def save(self) -> None:
        """Write the baseline and kept texts to disk."""
        cpu = time.thread_time()
        texts = self._texts.items()
        fim_store.save(self._path, fim_store.StoredBaseline(scopes=self._scopes, texts=texts))
        self._dirty = False
        self._last_save = time.monotonic()
        # A crash loses only the changes since the last save, and those are reported again
        # by the rescan at start: saving less often repeats alerts, it never misses one.
        self._save_every_s = max(SAVE_EVERY_S, (time.thread_time() - cpu) / SAVE_COST_SHARE)

    def run(self, stop: threading.Event, emit: Callable[[list[Alert]], None]) -> None:
        """Start, then poll until `stop` is set; hands every batch of alerts to `emit`."""
        try:
            emit(self.start())
            while not stop.is_set():
                alerts = self.poll(0.2)
                if alerts:
                    emit(alerts)
            emit(self.flush())
        finally:
            self.close()

    def close(self) -> None:
        """Save the baseline and stop watching."""
        self.save()
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
