"""Finding world-writable and unowned files under directories, on one filesystem each."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

SKIP = ("/proc", "/sys", "/dev", "/run")


def find_files(
    root: str,
    tops: Iterable[str],
    exclude: tuple[str, ...],
    kind: str,
    users: set[int],
    groups: set[int],
) -> list[str]:
    """Paths (inside `root`) under `tops` that are world-writable or unowned, as `kind` asks.

    World-writable: a file or symlink-free directory writable by others, directories
    with the sticky bit (like /tmp) excepted. Unowned: owner or group not in the target's
    passwd/group. The walk stays on each top's filesystem, as `find -xdev`.
    """
    prefix = "" if root == "/" else root
    skipped = tuple(prefix + p for p in (*SKIP, *exclude))
    found: list[str] = []
    for top in tops:
        start = prefix + top
        try:
            dev = os.lstat(start).st_dev
        except OSError:
            continue
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [
                d for d in dirnames if not (os.path.join(dirpath, d)).startswith(skipped)
            ]
            for name in (*dirnames, *filenames):
                full = os.path.join(dirpath, name)
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if st.st_dev != dev and stat.S_ISDIR(st.st_mode):
                    dirnames.remove(name)
                    continue
                if _matches(st, kind, users, groups):
                    found.append(full[len(prefix) :])
    return sorted(set(found))


def _matches(st: os.stat_result, kind: str, users: set[int], groups: set[int]) -> bool:
    if kind == "unowned":
        return st.st_uid not in users or st.st_gid not in groups
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & stat.S_IWOTH:
        return False
    return not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX)
