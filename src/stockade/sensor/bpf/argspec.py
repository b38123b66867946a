"""Per-event-type argument decoding: Falco's argument names and the event's fd.

Each builder takes the raw record, the six stashed syscall arguments, the slots as
(offset, length) pairs flattened, the result and the header flags, and returns
(args, fd). Slots follow the header back to back (c/record.h).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stockade.model import EventType as T
from stockade.model import FdInfo
from stockade.sensor.bpf.sockaddr import (
    parse_sockaddr,
    sockaddr_text,
    tuple_fd,
    with_requested_peer,
)

HDR_SIZE = 168
REC_F_TUPLE = 4

Args = dict[str, Any]
Builder = Callable[[bytes, tuple[int, ...], tuple[int, ...], int, int], tuple[Args, FdInfo | None]]


# Distinct texts and paths kept (each cache starts over when full). A miss costs one
# decode (~1 µs); an entry ~250 bytes, held for the agent's life: a busy host's unique
# temporary paths filled 65,536 of each (~30 MB) in minutes, pinning the allocator's
# arenas. A host's hot set (libraries, /etc, /proc files) is far smaller.
_CACHE_MAX = 4096
TEXTS: dict[bytes, str] = {}  # raw string slot -> text (read inline by the compiled readers)
WALKED: dict[bytes, str] = {}  # raw dentry walk -> path (read inline by the decoder)


def text(rec: bytes, off: int, n: int) -> str:
    """A NUL-terminated string slot of length `n` (including the NUL)."""
    if n <= 1:
        return ""
    raw = rec[off : off + n - 1]
    found = TEXTS.get(raw)
    if found is None:
        found = raw.decode(errors="replace")
        if len(TEXTS) >= _CACHE_MAX:
            TEXTS.clear()
        TEXTS[raw] = found
    return found


def walked(rec: bytes, off: int, n: int) -> str:
    """A path written by the kernel's dentry walk (components leaf first); cached."""
    if n <= 0:
        return ""
    raw = rec[off : off + n - 1]
    found = WALKED.get(raw)
    if found is None:
        parts = raw.decode(errors="replace").split("\0")
        parts.reverse()
        found = "/" + "/".join(parts)
        if len(WALKED) >= _CACHE_MAX:
            WALKED.clear()
        WALKED[raw] = found
    return found


def i32(v: int) -> int:
    """A syscall argument read as a signed int (fds, AT_FDCWD = -100)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


REC_F_FD_UPPER, REC_F_FD_LOWER = 8, 16


def file_layer(flags: int) -> str:
    """The overlayfs layer an opened file is on, from the record flags (none: no overlay)."""
    return "upper" if flags & REC_F_FD_UPPER else "lower" if flags & REC_F_FD_LOWER else "none"


def _file_fd(num: int, name: str, flags: int, raw: str, a: tuple[int, ...], f: int) -> FdInfo:
    """A file the open family made: its device and inode in a[4], a[5] (0: not read)."""
    fd = FdInfo(num=num, type="file", name=name, flags=flags, nameraw=raw)
    if a[5]:
        fd.dev, fd.ino, fd.layer = a[4], a[5], file_layer(f)
    return fd


def _path0(rec: bytes, s: tuple[int, ...]) -> str:
    """The opened path: the kernel's walk of the new fd, else the argument as given."""
    return walked(rec, s[4], s[5]) or text(rec, s[0], s[1])


# The open family's `name` argument is the path as the call gave it (Falco's driver
# passes it so; evt.arg.name resolves a relative one); fd.name is the kernel's path.


def _open(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    raw = text(rec, s[0], s[1])
    fd = _file_fd(res, _path0(rec, s), a[1], raw, a, f)
    return {"fd": res, "name": raw, "flags": a[1], "mode": a[2]}, fd


def _openat(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    # The most frequent event by far: the path cache lookup and i32 are inlined.
    name = WALKED.get(rec[s[4] : s[4] + s[5] - 1]) if s[5] > 0 else None
    if name is None:
        name = _path0(rec, s)
    dirfd = a[0] & 0xFFFFFFFF
    if dirfd & 0x80000000:
        dirfd -= 1 << 32
    flags = a[2]
    raw = text(rec, s[0], s[1])  # the path as the call gave it (evt.arg.name, fd.nameraw)
    args = {"fd": res, "dirfd": dirfd, "name": raw, "flags": flags, "mode": a[3]}
    return args, _file_fd(res, name, flags, raw, a, f)


def _openat2(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    raw = text(rec, s[0], s[1])  # open_how's flags and mode: a[2], a[3]
    args = {"fd": res, "dirfd": i32(a[0]), "name": raw, "flags": a[2], "mode": a[3]}
    return args, _file_fd(res, _path0(rec, s), a[2], raw, a, f)


def _creat(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    raw = text(rec, s[0], s[1])
    return {"fd": res, "name": raw, "mode": a[1]}, _file_fd(res, _path0(rec, s), 0, raw, a, f)


def _paths(names: tuple[str, ...], ints: tuple[tuple[str, int], ...] = ()) -> Builder:
    """A builder for calls with one or two path arguments (slots 0, 1) and int arguments."""

    def build(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
        args: Args = {"res": res}
        for slot, name in enumerate(names):
            args[name] = text(rec, s[2 * slot], s[2 * slot + 1])
        for name, idx in ints:
            args[name] = i32(a[idx]) if name.endswith(("fd", "dir")) else a[idx]
        path = args[names[-1]] if names else ""
        return args, FdInfo(num=-1, type="file", name=path) if path else None

    return build


def _fd_call(ints: tuple[tuple[str, int], ...]) -> Builder:
    """A builder for fchmod/fchown: the fd's path comes from the kernel's walk."""

    def build(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
        args: Args = {"res": res, "fd": i32(a[0])}
        args.update((name, a[idx]) for name, idx in ints)
        return args, FdInfo(num=i32(a[0]), type="file", name=walked(rec, s[4], s[5]))

    return build


def _ints(*names: str, res: str = "res") -> Builder:
    """A builder for calls whose arguments are plain integers, in order."""

    def build(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], r: int, _f: int) -> Any:
        args: Args = {res: r}
        args.update(zip(names, a, strict=False))
        return args, None

    return build


def _sock_fd(
    rec: bytes, s: tuple[int, ...], flags: int, num: int, *, server: bool
) -> FdInfo | None:
    if not flags & REC_F_TUPLE:
        return None
    return tuple_fd(num, rec[s[2] : s[2] + s[3]], server_side=server)


def _connect(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    fd = _sock_fd(rec, s, f, i32(a[0]), server=False)
    raw = rec[s[0] : s[0] + s[1]]
    if fd is not None:
        fd = with_requested_peer(fd, raw)
    elif raw:
        kind, addr, port = parse_sockaddr(raw)
        fd = FdInfo(num=i32(a[0]), type=kind, name=addr, dip=addr, dport=port)
    return {"res": res, "tuple": fd.name if fd else "", "fd": i32(a[0])}, fd


def _accept(rec: bytes, _a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    fd = _sock_fd(rec, s, f, res, server=True)
    return {"fd": res, "tuple": fd.name if fd else ""}, fd


def _bind(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    fd = _sock_fd(rec, s, f, i32(a[0]), server=True)
    addr = sockaddr_text(rec[s[0] : s[0] + s[1]])
    return {"res": res, "addr": addr, "fd": i32(a[0])}, fd


def _listen(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    fd = _sock_fd(rec, s, f, i32(a[0]), server=True)
    return {"res": res, "fd": i32(a[0]), "backlog": a[1]}, fd


def _mount(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
    dev, dir_, type_ = text(rec, s[0], s[1]), text(rec, s[2], s[3]), text(rec, s[4], s[5])
    return {"res": res, "dev": dev, "dir": dir_, "type": type_, "flags": a[3]}, None


def _memfd(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
    name = text(rec, s[0], s[1])
    return {"fd": res, "name": name, "flags": a[1]}, FdInfo(num=res, type="memfd", name=name)


def _procexit(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], _res: int, _f: int) -> Any:
    code = a[0] or a[1]
    return {
        "status": code,
        "ret": (code >> 8) & 0xFF,
        "sig": code & 0x7F,
        "core": code >> 7 & 1,
    }, None


BUILDERS: dict[T, Builder] = {
    T.CLONE: _ints(),  # the new process's view: res 0, ppid in the header
    T.CLONE3: _ints(),
    T.FORK: _ints(),
    T.VFORK: _ints(),
    T.EXECVE: _paths(("filename",)),  # failed execs only; success is decoded as exec
    T.EXECVEAT: _paths(("filename",), (("dirfd", 0),)),
    T.PROCEXIT: _procexit,
    T.OPEN: _open,
    T.OPENAT: _openat,
    T.OPENAT2: _openat2,
    T.CREAT: _creat,
    T.UNLINK: _paths(("path",)),
    T.UNLINKAT: _paths(("name",), (("dirfd", 0), ("flags", 2))),
    T.RENAME: _paths(("oldpath", "newpath")),
    T.RENAMEAT: _paths(("oldpath", "newpath"), (("olddirfd", 0), ("newdirfd", 2))),
    T.RENAMEAT2: _paths(("oldpath", "newpath"), (("olddirfd", 0), ("newdirfd", 2), ("flags", 4))),
    T.CHMOD: _paths(("filename",), (("mode", 1),)),
    T.FCHMOD: _fd_call((("mode", 1),)),
    T.FCHMODAT: _paths(("filename",), (("dirfd", 0), ("mode", 2))),
    T.CHOWN: _paths(("path",), (("uid", 1), ("gid", 2))),
    T.LCHOWN: _paths(("path",), (("uid", 1), ("gid", 2))),
    T.FCHOWN: _fd_call((("uid", 1), ("gid", 2))),
    T.FCHOWNAT: _paths(("pathname",), (("dirfd", 0), ("uid", 2), ("gid", 3), ("flags", 4))),
    T.LINK: _paths(("oldpath", "newpath")),
    T.LINKAT: _paths(("oldpath", "newpath"), (("olddir", 0), ("newdir", 2), ("flags", 4))),
    T.SYMLINK: _paths(("target", "linkpath")),
    T.SYMLINKAT: _paths(("target", "linkpath"), (("linkdirfd", 1),)),
    T.MKDIR: _paths(("path",), (("mode", 1),)),
    T.MKDIRAT: _paths(("path",), (("dirfd", 0), ("mode", 2))),
    T.SOCKET: _ints("domain", "type", "proto", res="fd"),
    T.CONNECT: _connect,
    T.ACCEPT: _accept,
    T.ACCEPT4: _accept,
    T.BIND: _bind,
    T.LISTEN: _listen,
    T.SETUID: _ints("uid"),
    T.SETGID: _ints("gid"),
    T.SETREUID: _ints("ruid", "euid"),
    T.SETREGID: _ints("rgid", "egid"),
    T.SETRESUID: _ints("ruid", "euid", "suid"),
    T.SETRESGID: _ints("rgid", "egid", "sgid"),
    T.CAPSET: _ints(),
    T.PTRACE: _ints("request", "pid", "addr", "data"),
    T.MOUNT: _mount,
    T.UMOUNT: _paths(("name",)),
    T.UMOUNT2: _paths(("name",), (("flags", 1),)),
    T.UNSHARE: _ints("flags"),
    T.SETNS: _ints("fd", "nstype"),
    T.INIT_MODULE: _paths(("uargs",), (("length", 1),)),
    T.FINIT_MODULE: _paths(("uargs",), (("fd", 0), ("flags", 2))),
    T.BPF: _ints("cmd", res="fd"),
    T.MEMFD_CREATE: _memfd,
    T.USERFAULTFD: _ints("flags"),
    T.CHROOT: _paths(("path",)),
    T.RMDIR: _paths(("path",)),
    T.CHDIR: _paths(("path",)),
    T.FCHMODAT2: _paths(("filename",), (("dirfd", 0), ("mode", 2), ("flags", 3))),
}
