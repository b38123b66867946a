"""Hash baseline of watched files: one `FileState` per path, read under a root directory.

A root is "/" for the host or a container's root (`/proc/<pid>/root`, or its overlay
mount). Rescans reuse a previous digest when size, mtime, ctime and inode are unchanged:
ctime cannot be set by user space, so a content change always shows in it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator, Mapping

import msgspec

from stockade.host.fim_policy import FimPolicy


class FileState(msgspec.Struct, frozen=True, kw_only=True):
    """What the baseline keeps of one file (a symlink's `sha256` is of its target text)."""

    sha256: str
    uid: int
    gid: int
    mode: int
    size: int
    mtime_ns: int
    ctime_ns: int = 0
    ino: int = 0


def file_state(full: str, previous: FileState | None = None) -> FileState | None:
    """The state of one file (not following symlinks), None if gone or not a file/link."""
    try:
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            digest = hashlib.sha256(os.readlink(full).encode("utf-8", "surrogateescape"))
            sha = digest.hexdigest()
        elif not stat.S_ISREG(st.st_mode):
            return None
        elif previous is not None and _same_inode_data(previous, st):
            sha = previous.sha256
        else:
            with open(full, "rb") as f:
                sha = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None
    return FileState(
        sha256=sha,
        uid=st.st_uid,
        gid=st.st_gid,
        mode=st.st_mode,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        ctime_ns=st.st_ctime_ns,
        ino=st.st_ino,
    )


def _same_inode_data(previous: FileState, st: os.stat_result) -> bool:
    return (previous.size, previous.mtime_ns, previous.ctime_ns, previous.ino) == (
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_ino,
    )


def watched_files(root: str, policy: FimPolicy) -> Iterator[str]:
    """Paths (as seen inside `root`) of the files under the policy's watched prefixes."""
    prefix = root.rstrip("/")
    seen: set[str] = set()
    for top in policy.paths:
        for inner in _walk(prefix, top):
            if inner not in seen and not policy.ignored(inner):
                seen.add(inner)
                yield inner


def watched_dirs(root: str, policy: FimPolicy) -> Iterator[str]:
    """Directories (inside `root`) to mark for live events: every directory under a watched
    prefix, and for a prefix that does not exist yet its nearest existing ancestor (so that
    creating it, e.g. /root/.ssh, is seen)."""
    prefix = root.rstrip("/")
    seen: set[str] = set()
    for top in policy.paths:
        anchor = top
        while anchor != "/" and not os.path.isdir(prefix + anchor):
            anchor = os.path.dirname(anchor)
        stack = [anchor]
        while stack:
            inner = stack.pop()
            if inner in seen or (inner != anchor and policy.ignored(inner)):
                continue
            seen.add(inner)
            yield inner
            if inner != top and not inner.startswith(top.rstrip("/") + "/"):
                continue  # an ancestor of a missing prefix: itself only
            try:
                entries = list(os.scandir(prefix + inner))
            except OSError:
                continue
            stack += [
                inner.rstrip("/") + "/" + e.name for e in entries if e.is_dir(follow_symlinks=False)
            ]


def _walk(prefix: str, top: str) -> Iterator[str]:
    stack = [top]
    while stack:
        inner = stack.pop()
        try:
            entries = list(os.scandir(prefix + inner))
        except (NotADirectoryError, FileNotFoundError):
            if os.path.lexists(prefix + inner):
                yield inner
            continue
        except OSError:
            continue
        for entry in entries:
            path = inner.rstrip("/") + "/" + entry.name
            if entry.is_dir(follow_symlinks=False):
                stack.append(path)
            else:
                yield path


def scan(
    root: str, policy: FimPolicy, previous: Mapping[str, FileState] | None = None
) -> dict[str, FileState]:
    """The baseline of `root`: path -> state for every watched file present."""
    prefix = root.rstrip("/")
    old = previous or {}
    found: dict[str, FileState] = {}
    for inner in watched_files(root, policy):
        state = file_state(prefix + inner, old.get(inner))
        if state is not None:
            found[inner] = state
    return found
