"""Blocking executables: fanotify permission events answered FAN_DENY (exec fails EPERM).

One `ExecBlocker` per host holds a fanotify group with an inode mark per blocked file and a
thread answering its permission events; a file unblocked meanwhile is allowed. Closing the
group (agent exit) lets every exec through again: the kernel allows pending events.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from stockade.fanotify import (
    AT_FDCWD,
    FAN_CLASS_CONTENT,
    FAN_CLOEXEC,
    FAN_MARK_ADD,
    FAN_MARK_REMOVE,
    FAN_NONBLOCK,
    FAN_OPEN_EXEC_PERM,
    answer,
    fanotify_libc,
    last_error,
    permission_fds,
    reads_until,
)
from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.containers import locate
from stockade.respond.errors import RespondError, TargetError


class ExecBlocker:
    """The host's blocked executables, denied at exec by one fanotify group and thread."""

    def __init__(self) -> None:
        self._libc = fanotify_libc()
        fd = self._libc.fanotify_init(
            FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY | os.O_LARGEFILE
        )
        if fd < 0:
            raise RespondError(f"fanotify_init failed: {last_error()}")
        self._fd = fd
        self._blocked: dict[tuple[int, int], str] = {}  # (dev, inode) -> path as given
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._answer, name="stockade-execblock", daemon=True)
        self._thread.start()

    def _mark(self, flags: int, path: Path) -> None:
        if (
            self._libc.fanotify_mark(
                self._fd, flags, FAN_OPEN_EXEC_PERM, AT_FDCWD, os.fsencode(path)
            )
            != 0
        ):
            raise RespondError(f"fanotify_mark on {path} failed: {last_error()}")

    def block(self, path: Path) -> None:
        """Deny every exec of the file at `path` from now on."""
        info = os.stat(path)
        with self._lock:
            self._blocked[(info.st_dev, info.st_ino)] = str(path)
        self._mark(FAN_MARK_ADD, path)

    def unblock(self, path: Path) -> None:
        """Allow execs of the file at `path` again."""
        info = os.stat(path)
        with self._lock:
            if self._blocked.pop((info.st_dev, info.st_ino), None) is None:
                raise TargetError(f"{path} is not blocked")
        self._mark(FAN_MARK_REMOVE, path)

    def blocked(self) -> list[str]:
        """The blocked paths."""
        with self._lock:
            return sorted(self._blocked.values())

    def _answer(self) -> None:
        for data in reads_until(self._fd, self._stop):
            for fd in permission_fds(data):
                self._answer_one(fd)

    def _answer_one(self, fd: int) -> None:
        deny = False
        try:
            info = os.fstat(fd)
            with self._lock:
                deny = (info.st_dev, info.st_ino) in self._blocked
        finally:
            answer(self._fd, fd, allow=not deny)

    def close(self) -> None:
        """Stop answering and close the group (the kernel then allows everything)."""
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._fd)


def host_path(target: ActionTarget) -> Path:
    """The target's path as this host sees it (through the container's root if it has one)."""
    if not target.path.startswith("/"):
        raise TargetError(f"path {target.path!r} must be absolute")
    if target.container_id:
        return locate(target.container_id).root / target.path.lstrip("/")
    return Path(target.path)


class BlockExecutable(ResponseAction):
    """Make every exec of one file fail with EPERM."""

    name = "block_executable"
    summary = "deny every exec of a file (fanotify permission events: EPERM)"
    needs = ("path",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Mark the file's inode for exec permission events and deny them."""
        path = host_path(target)
        if not path.is_file():
            raise TargetError(f"no file {target.path} to block")
        context.exec_blocker().block(path)
        return done(f"blocked exec of {target.path}")


class UnblockExecutable(ResponseAction):
    """Let a blocked file run again."""

    name = "unblock_executable"
    summary = "allow execs of a blocked file again"
    needs = ("path",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Remove the file's mark."""
        context.exec_blocker().unblock(host_path(target))
        return done(f"unblocked exec of {target.path}")


RESPONSE_ACTIONS.register(BlockExecutable.name, BlockExecutable())
RESPONSE_ACTIONS.register(UnblockExecutable.name, UnblockExecutable())
