"""Containers starting on this host, seen the moment their runtime records them.

An OCI runtime writes `<state dir>/<id>/state.json` when it creates a container: its
network namespace and address exist by then (podman sets them up first) and its
entrypoint has not run yet (it waits for `start`). One inotify watch per runtime state
directory, and one on each new container directory until its state appears, call
`on_start(container_id)` at that moment, so the firewall can give the new address to
its peers' tables before the container's first packet, not at its next round.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from inotify_simple import INotify
from inotify_simple import flags as inotify_flags

from stockade.respond.containers import RUNTIME_STATE_DIRS

log = logging.getLogger(__name__)
STATE_FILES = ("state.json", "status")  # runc, crun
_DIR_EVENTS = inotify_flags.CREATE | inotify_flags.MOVED_TO
_STATE_EVENTS = inotify_flags.CREATE | inotify_flags.MOVED_TO | inotify_flags.CLOSE_WRITE
READ_TIMEOUT_MS = 500  # how soon a stop, or a state dir made after the start, is noticed


class ContainerStarts:
    """One thread calling `on_start(container_id)` as each container is created."""

    def __init__(
        self, on_start: Callable[[str], None], state_dirs: Sequence[Path] = RUNTIME_STATE_DIRS
    ) -> None:
        self._on_start = on_start
        self._state_dirs = tuple(state_dirs)
        self._inotify = INotify()
        self._roots: dict[int, Path] = {}  # watch -> runtime state dir
        self._pending: dict[int, Path] = {}  # watch -> a new container's dir, no state yet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stockade-starts", daemon=True)

    def start(self) -> ContainerStarts:
        """Start watching."""
        self._watch_roots()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (the thread closes the watch as it ends)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch_roots(self) -> None:
        watched = set(self._roots.values())
        for state_dir in self._state_dirs:
            if state_dir not in watched and state_dir.is_dir():
                try:
                    self._roots[self._inotify.add_watch(state_dir, _DIR_EVENTS)] = state_dir
                except OSError as e:  # removed meanwhile: tried again on a quiet read
                    log.debug("container starts: %s: %s", state_dir, e)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                events = self._inotify.read(timeout=READ_TIMEOUT_MS)
                if not events:
                    self._watch_roots()  # a runtime's first container makes its state dir
                for event in events:
                    if self._stop.is_set():
                        break
                    try:
                        self._take(event.wd, event.mask, event.name)
                    except OSError as e:  # a container gone before it was looked at
                        log.debug("container starts: %s", e)
        finally:
            self._inotify.close()

    def _take(self, wd: int, mask: int, name: str) -> None:
        root = self._roots.get(wd)
        if root is not None and mask & inotify_flags.ISDIR:
            directory = root / name
            watch = self._inotify.add_watch(directory, _STATE_EVENTS)
            self._pending[watch] = directory
            if any((directory / f).exists() for f in STATE_FILES):  # written before the watch
                self._started(watch)
            return
        if wd in self._pending and name in STATE_FILES:
            self._started(wd)

    def _started(self, wd: int) -> None:
        directory = self._pending.pop(wd)
        with contextlib.suppress(OSError):  # the directory went away with its watch
            self._inotify.rm_watch(wd)
        try:
            self._on_start(directory.name)
        except Exception:  # a failing caller must not end the watch
            log.exception("container starts: handling %s failed", directory.name)
