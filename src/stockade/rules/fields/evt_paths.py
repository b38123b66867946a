"""Path arguments as Falco renders them in evt.arg.* and evt.args.

The sensor keeps a path argument as the call gave it (Falco's driver does the same), and
evt.rawarg.* returns it so. evt.arg.* returns a relative path resolved, as Falco's
filter check does: against the directory the call named (its dirfd argument), else the
working directory, with `.` and `..` folded. Where that directory is unknown: an open
that succeeded gives the kernel's path of the new descriptor; otherwise the path stays
as given. An absolute path is returned as given (not folded), as Falco does. The working
directory is the one seen at the process's exec (later chdir calls are not followed).
"""

from __future__ import annotations

import posixpath

from stockade.model import Event

AT_FDCWD = -100
_OPENS = frozenset({"open", "openat", "openat2", "creat"})
_OLD_NEW = {"oldpath": "olddirfd", "newpath": "newdirfd"}
# Event type -> its path arguments (Falco's FSPATH/FSRELPATH parameters), each with the
# argument holding its directory fd ("" when the path is relative to the cwd).
PATH_ARGS: dict[str, dict[str, str]] = {
    **dict.fromkeys(("open", "creat"), {"name": ""}),
    **dict.fromkeys(("openat", "openat2", "unlinkat"), {"name": "dirfd"}),
    **dict.fromkeys(("umount", "umount2"), {"name": ""}),
    "execve": {"filename": ""},
    "execveat": {"filename": "dirfd"},
    **dict.fromkeys(("unlink", "mkdir", "rmdir", "chdir", "chroot", "truncate"), {"path": ""}),
    **dict.fromkeys(("chown", "lchown"), {"path": ""}),
    "mkdirat": {"path": "dirfd"},
    **dict.fromkeys(("rename", "link"), {"oldpath": "", "newpath": ""}),
    **dict.fromkeys(("renameat", "renameat2"), _OLD_NEW),
    "linkat": {"oldpath": "olddir", "newpath": "newdir"},
    "symlink": {"linkpath": ""},  # the target is text, never resolved (Falco: CHARBUF)
    "symlinkat": {"linkpath": "linkdirfd"},
    "chmod": {"filename": ""},
    **dict.fromkeys(("fchmodat", "fchmodat2"), {"filename": "dirfd"}),
    "fchownat": {"pathname": "dirfd"},
    "mount": {"dir": ""},
}


def resolved_path(e: Event, key: str, value: str) -> str | None:
    """The absolute path Falco shows for path argument `key` of `e`, when it differs."""
    if not value or value[0] == "/":
        return None
    dir_key = PATH_ARGS.get(e.type, {}).get(key)
    if dir_key is None:
        return None
    dirfd = e.args.get(dir_key, AT_FDCWD) if dir_key else AT_FDCWD
    if e.type in _OPENS and e.res >= 0 and e.fd is not None and e.fd.name.startswith("/"):
        return e.fd.name  # the kernel's path of the opened file: exact even after a chdir
    if dirfd != AT_FDCWD or not e.proc.cwd.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(e.proc.cwd, value))
    return joined[1:] if joined.startswith("//") else joined
