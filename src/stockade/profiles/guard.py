"""The exec guard of protected groups: fanotify permission events on a container's root.

One fanotify group marks the root of every container whose group is in protect. A
running container's root mount is marked (FAN_MARK_MOUNT on /proc/PID/root: the mount
in the container's own namespace); a container being created (the OCI hook, before its
entrypoint runs, while /proc/PID/root is still the host's) has its rootfs overlay's
superblock marked instead (FAN_MARK_FILESYSTEM on the bundle's root.path: every mount of
that overlay, the container's own included, shares it). Each exec asks `decide` with the
path as the container sees it, whether the file is on the overlay's upper layer (written
or replaced after the container started) and a lazy sha256; a refusal answers FAN_DENY
(the exec fails with EPERM) and is handed to `on_refused`. Unmarked containers, and
everything once the guard is closed, run freely.

An allowed file gets an inode mark ignoring exec permission events, so the kernel stops
asking about it: a repeated exec (and the ELF interpreter each exec opens) costs no trip
to this process. The kernel drops such an ignore mark when the file is modified (written
or truncated: it is judged again); a file replaced by rename is a new inode, never
marked. Profiles or modes changing flush every ignore mark (`forget`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stockade.fanotify import (
    AT_FDCWD,
    FAN_CLASS_CONTENT,
    FAN_CLOEXEC,
    FAN_MARK_ADD,
    FAN_MARK_FILESYSTEM,
    FAN_MARK_FLUSH,
    FAN_MARK_IGNORED_MASK,
    FAN_MARK_MOUNT,
    FAN_MARK_REMOVE,
    FAN_NONBLOCK,
    FAN_OPEN_EXEC_PERM,
    answer,
    fanotify_libc,
    last_error,
    permission_fds,
    reads_until,
)
from stockade.profiles.imagefiles import mounted_overlay, root_overlay
from stockade.profiles.verdict import ALLOW, ExecVerdict
from stockade.respond.errors import RespondError

log = logging.getLogger(__name__)
_HASH_CHUNK = 1 << 20
MAX_ALLOWED = 65536

Decide = Callable[[str, str, bool, Callable[[], str]], ExecVerdict]  # id, path, upper, hash
OnRefused = Callable[[str, str, ExecVerdict], None]  # container id, path, verdict


@dataclass(frozen=True, slots=True)
class GuardedRoot:
    """A protected container's root: its device, upper layer, init pid and how it is marked."""

    container_id: str
    root: Path  # /proc/PID/root, or the rootfs mount point (a superblock mark)
    dev: int
    upperdir: str  # the overlay's upper directory ("" when not on overlay)
    pid: int = 0  # the container's init process when guarded
    kind: int = FAN_MARK_MOUNT  # or FAN_MARK_FILESYSTEM


def overlay_upperdir(pid: int) -> str:
    """The upper directory of the overlay mounted as `pid`'s root ("" if none)."""
    return root_overlay(pid).upperdir


class ExecGuard:
    """Answers exec permission events on protected containers' root mounts."""

    def __init__(self, decide: Decide, on_refused: OnRefused) -> None:
        self._libc = fanotify_libc()
        fd = self._libc.fanotify_init(
            FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY | os.O_LARGEFILE
        )
        if fd < 0:
            raise RespondError("fanotify_init failed: the exec guard needs CAP_SYS_ADMIN")
        self._fd = fd
        self._decide, self._on_refused = decide, on_refused
        self._roots: dict[int, GuardedRoot] = {}  # by device
        self._hashes: dict[tuple[int, ...], str] = {}
        self._ignored = 0  # inode ignore marks since the last flush
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._answer, name="stockade-guard", daemon=True)
        self._thread.start()

    def protect(self, container_id: str, pid: int) -> None:
        """Guard every exec on the container's root mount (its init process is `pid`)."""
        root = Path(f"/proc/{pid}/root")
        upperdir = overlay_upperdir(pid)
        self._add(GuardedRoot(container_id, root, os.stat(root).st_dev, upperdir, pid))

    def protect_rootfs(self, container_id: str, pid: int, rootfs: Path) -> None:
        """Guard every exec from the container's rootfs (mounted at `rootfs` on this host)
        before its init process `pid` runs anything: its superblock is marked."""
        upperdir = mounted_overlay(rootfs).upperdir
        if not upperdir:  # a plain directory's superblock is the host's: never mark that
            raise RespondError(f"{rootfs} is no overlay mounted for the container alone")
        dev = os.stat(rootfs).st_dev
        self._add(GuardedRoot(container_id, rootfs, dev, upperdir, pid, FAN_MARK_FILESYSTEM))

    def _add(self, guarded: GuardedRoot) -> None:
        self._mark(FAN_MARK_ADD | guarded.kind, guarded.root)
        with self._lock:
            self._forget_stopped()
            self._roots[guarded.dev] = guarded

    def _forget_stopped(self) -> None:
        """Drop the containers whose init process is gone: their marks went with their
        mounts, and their devices may be reused by another overlay."""
        for dev, known in list(self._roots.items()):
            if known.pid > 0 and not os.path.exists(f"/proc/{known.pid}"):
                del self._roots[dev]

    def release(self, container_id: str) -> None:
        """Stop guarding the container (if it still runs, its mark is removed)."""
        with self._lock:
            found = [g for g in self._roots.values() if g.container_id == container_id]
            for guarded in found:
                del self._roots[guarded.dev]
        for guarded in found:
            with contextlib.suppress(RespondError):  # a container gone took its mount along
                self._mark(FAN_MARK_REMOVE | guarded.kind, guarded.root)
        if found:
            self.forget()  # its files' ignore marks would pin their inodes

    def init_pids(self) -> dict[str, int]:
        """The containers guarded now: id -> the init process they were guarded for."""
        with self._lock:
            return {g.container_id: g.pid for g in self._roots.values()}

    def _mark(self, flags: int, path: Path) -> None:
        mask = FAN_OPEN_EXEC_PERM
        if self._libc.fanotify_mark(self._fd, flags, mask, AT_FDCWD, os.fsencode(path)) != 0:
            raise RespondError(f"fanotify_mark on {path} failed: {last_error()}")

    def _answer(self) -> None:
        for data in reads_until(self._fd, self._stop):
            for fd in permission_fds(data):
                self._answer_one(fd)

    def _answer_one(self, fd: int) -> None:
        verdict = ALLOW
        try:
            verdict, refused = self._judge(fd)
        except Exception:  # an unexpected failure must never leave the exec hanging
            log.exception("exec guard: judging an exec failed; allowing it")
            refused = None
        finally:
            answer(self._fd, fd, verdict.allow)
        if refused is not None:
            self._on_refused(*refused, verdict)

    def _judge(self, fd: int) -> tuple[ExecVerdict, tuple[str, str] | None]:
        info = os.fstat(fd)
        key = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_ctime_ns, info.st_size)
        with self._lock:
            guarded = self._roots.get(info.st_dev)
        if guarded is None:
            return ALLOW, None
        path = os.readlink(f"/proc/self/fd/{fd}")
        upper = bool(guarded.upperdir) and os.path.lexists(guarded.upperdir + path)
        verdict = self._decide(guarded.container_id, path, upper, lambda: self._hash(fd, key))
        if verdict.allow:
            self._ignore(fd)
        return verdict, (None if verdict.allow else (guarded.container_id, path))

    def _ignore(self, fd: int) -> None:
        """Let the kernel allow this file's execs without asking, until it is modified."""
        if self._ignored >= MAX_ALLOWED:
            self.forget()
        flags = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK
        if self._libc.fanotify_mark(self._fd, flags, FAN_OPEN_EXEC_PERM, fd, None) == 0:
            self._ignored += 1

    def forget(self) -> None:
        """Judge every file again (profiles or modes changed): drop every ignore mark."""
        self._libc.fanotify_mark(self._fd, FAN_MARK_FLUSH, 0, AT_FDCWD, None)
        self._ignored = 0

    def _hash(self, fd: int, key: tuple[int, ...]) -> str:
        found = self._hashes.get(key)
        if found is None:
            found = self._hashes[key] = fd_sha256(fd)
        return found

    def close(self) -> None:
        """Stop answering and close the group (the kernel then allows everything)."""
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self._fd)


def fd_sha256(fd: int) -> str:
    """sha256 of a file through an open descriptor, from its start ("sha256:<hex>")."""
    digest, offset = hashlib.sha256(), 0
    while chunk := os.pread(fd, _HASH_CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return "sha256:" + digest.hexdigest()
