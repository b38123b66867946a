"""Protect mode on this host: the exec guard kept on the containers of protected groups,
processes killed at exec where no permission event stopped them, executables hashed.

`Protection` binds a `ProfileDetector` to an `ExecGuard`: a container is guarded while
its group is in protect, from its creation when the runtime's OCI hook asks
(`guard_at_create`: before its entrypoint runs), else from the first event seen of it
(its entrypoint and first execs then ran: protect kills them at exec), and released
when the group leaves protect (checked again on every push from the platform).
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
from pathlib import Path

from stockade.model import Event
from stockade.model.entities import Container
from stockade.profiles.detector import ProfileDetector
from stockade.profiles.guard import ExecGuard
from stockade.profiles.modes import Mode
from stockade.profiles.wire import ProfilePush
from stockade.respond.errors import RespondError

log = logging.getLogger(__name__)
MAX_HASHES = 65536


class Protection:
    """Keeps the exec guard on exactly the containers whose group is in protect."""

    def __init__(self, detector: ProfileDetector) -> None:
        self._detector = detector
        self.guard = ExecGuard(detector.verdict, detector.refused)
        detector.on_container = self.consider
        detector.on_kill = kill_at_exec

    def on_push(self, push: ProfilePush) -> None:
        """Modes may have changed: guard or release every container seen."""
        del push
        self.guard.forget()
        for container in list(self._detector.containers.values()):
            self.consider(container)

    def guard_at_create(self, container: Container, rootfs: Path) -> bool:
        """A container being created (its init process `container.pid` has run nothing of
        it yet): guard its rootfs when its group is in protect; whether it is guarded."""
        if self._detector.process_mode(container) is not Mode.PROTECT:
            return False
        self._detector.containers[container.id] = container  # the guard's verdicts need it
        if container.id in self.guard.init_pids():
            self.guard.release(container.id)  # restarted: a new rootfs mount
        self.guard.protect_rootfs(container.id, container.pid, rootfs)
        log.info("protect: guarding execs of container %s from its creation", container.short_id)
        return True

    def consider(self, container: Container) -> None:
        """Guard the container if its group is in protect, release it if no longer; a
        restarted container (same id, a new init process and root mount) is guarded anew."""
        protect = self._detector.process_mode(container) is Mode.PROTECT
        pid = self.guard.init_pids().get(container.id)
        guarded = pid is not None
        try:
            if guarded and protect and container.pid > 0 and pid != container.pid:
                self.guard.release(container.id)  # the mark went with the old root mount
                guarded = False
            if protect and not guarded and container.pid > 0:
                self.guard.protect(container.id, container.pid)
                log.info("protect: guarding execs of container %s", container.short_id)
            elif guarded and not protect:
                self.guard.release(container.id)
        except (OSError, RespondError) as e:
            log.warning("protect: container %s: %s", container.short_id, e)

    def close(self) -> None:
        """Stop guarding (every exec is allowed again)."""
        self.guard.close()


def kill_at_exec(event: Event) -> None:
    """SIGKILL, by pidfd, a process whose exec protect refuses but no permission event
    stopped (a memfd; a container the guard was not on yet)."""
    try:
        fd = os.pidfd_open(event.proc.pid)
    except OSError:
        return  # already gone
    try:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        log.warning("protect: killed %d at exec of %s", event.proc.pid, event.proc.exepath)
    finally:
        os.close(fd)


class ExeHashes:
    """sha256 of an exec's executable, read once per file version (inode, times)."""

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], str] = {}

    def __call__(self, event: Event) -> str:
        """ "sha256:<hex>" of the event's executable, "" when it cannot be read any more."""
        proc = event.proc
        key = (
            event.container.id,
            proc.exepath,
            proc.exe_ino,
            proc.exe_ino_mtime,
            proc.exe_ino_ctime,
        )
        found = self._known.get(key)
        if found is None:
            found = _sha256_of(event)
            if len(self._known) >= MAX_HASHES:
                self._known.clear()
            if found:
                self._known[key] = found
        return found or ""


def _sha256_of(event: Event) -> str:
    root = f"/proc/{event.container.pid}/root" if event.container.pid else ""
    for path in (f"/proc/{event.proc.pid}/exe", root + event.proc.exepath if root else ""):
        if not path:
            continue
        try:
            with Path(path).open("rb") as file:
                return "sha256:" + hashlib.file_digest(file, "sha256").hexdigest()
        except OSError:
            continue
    return ""
