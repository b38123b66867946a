"""Wakes the inventory worker when a source of its slow-moving tables changes.

inotify watches on the watched directories (cron.d, unit dirs, package trees) and on the
parent directory of each watched file (passwd, the dpkg status file: both are replaced by
rename, which a watch on the file itself would lose). A change ends the wait after the
sources settle (dpkg rewrites its status several times per package), so the worker
collects once per change, within seconds, instead of at its next poll. The worker still
compares its (mtime, size) signature: the watch only decides when to look.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence

from inotify_simple import INotify
from inotify_simple import flags as inotify_flags

_EVENTS = (
    inotify_flags.CLOSE_WRITE | inotify_flags.MOVED_TO | inotify_flags.MOVED_FROM
    | inotify_flags.CREATE | inotify_flags.DELETE | inotify_flags.ATTRIB
)  # fmt: skip
SETTLE_S = 1.0  # quiet time after a change before the worker looks
SETTLE_MAX_S = 10.0  # a source that never rests is looked at after this anyway
READ_MS = 500  # how soon a stop is noticed


class SourceWatch:
    """inotify on the inventory's sources; `wait` returns True once one of them changed."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._inotify = INotify()
        self._dirs: dict[int, frozenset[str] | None] = {}  # watch -> names that matter (None: all)
        by_parent: dict[str, set[str]] = {}
        for path in paths:
            if os.path.isdir(path):
                self._add(path, None)
            else:
                by_parent.setdefault(os.path.dirname(path), set()).add(os.path.basename(path))
        for parent, names in by_parent.items():
            self._add(parent, frozenset(names))

    def _add(self, directory: str, names: frozenset[str] | None) -> None:
        try:
            wd = self._inotify.add_watch(directory, _EVENTS)
        except OSError:  # absent on this host (no rpm, no apk): nothing to watch
            return
        known = self._dirs.get(wd, frozenset())
        self._dirs[wd] = None if names is None or known is None else known | names

    def _changed(self, timeout_ms: int) -> bool:
        for event in self._inotify.read(timeout=timeout_ms):
            names = self._dirs.get(event.wd)
            if event.wd in self._dirs and (names is None or event.name in names):
                return True
        return False

    def wait(self, timeout_s: float, stop: threading.Event) -> bool:
        """Until a source changed and settled (True), `timeout_s` passed or `stop` is set."""
        deadline = time.monotonic() + timeout_s
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._changed(int(min(left * 1000, READ_MS))):
                self._settle(stop)
                return True
        return False

    def _settle(self, stop: threading.Event) -> None:
        until = time.monotonic() + SETTLE_MAX_S
        while not stop.is_set() and time.monotonic() < until:
            if not self._inotify.read(timeout=int(SETTLE_S * 1000)):
                return

    def close(self) -> None:
        """Drop the watches."""
        self._inotify.close()
