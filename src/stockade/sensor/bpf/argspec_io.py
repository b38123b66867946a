"""Argument builders of I/O, descriptor, signal and memory calls (see argspec.py for the form).

Data-bearing calls carry the first snaplen bytes of their buffer in slot 0, the socket
tuple of their fd in slot 1 (sockets only), a destination sockaddr in slot 2 (sendto,
sendmsg), and the fd's i_mode in argument 1 (c/io.bpf.h).
"""

from __future__ import annotations

import struct
from typing import Any

from stockade.model import EventType as T
from stockade.model import FdInfo
from stockade.sensor.bpf.argspec import REC_F_TUPLE, Args, Builder, i32, text, walked
from stockade.sensor.bpf.sockaddr import parse_sockaddr, tuple_fd

_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))  # others as "."
_S_IFMT = 0o170000
_FD_TYPES = {0o140000: "unix", 0o010000: "pipe", 0o100000: "file", 0o040000: "directory",
             0o020000: "file", 0o060000: "file"}  # fmt: skip
_NO_FD = 0xFFFFFFFF
PR_SET_NAME = 15


def buffer_text(raw: bytes) -> str:
    """I/O data as Falco prints it: printable ASCII kept, every other byte as '.'."""
    return raw.translate(_PRINTABLE).decode("ascii")


def fd_info(rec: bytes, s: tuple[int, ...], flags: int, num: int, mode: int) -> FdInfo | None:
    """The fd an I/O call used: its socket tuple, else its kind from the inode mode."""
    if flags & REC_F_TUPLE and s[3]:
        fd = tuple_fd(num, rec[s[2] : s[2] + s[3]], server_side=False)
        if fd.dport == 0 and s[5]:  # an unconnected datagram socket: the address given
            kind, addr, port = parse_sockaddr(rec[s[4] : s[4] + s[5]])
            if kind:
                fd.dip, fd.dport, fd.name = addr, port, f"{fd.sip}:{fd.sport}->{addr}:{port}"
                fd.name_changed = True  # the call named its peer: Falco's UDP tuple change
        return fd
    fd_type = _FD_TYPES.get(mode & _S_IFMT)
    return FdInfo(num=num, type=fd_type) if fd_type else None


def _io(*, pos: bool = False, vectored: bool = False) -> Builder:
    """read/write/send/recv families: res, data, fd, size (pos for p*, tuple for sockets)."""

    def build(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
        num = i32(a[0])
        fd = fd_info(rec, s, f, num, a[1])
        data = buffer_text(rec[s[0] : s[0] + s[1]])
        size = max(res, 0) if vectored else a[2]
        args: Args = {"res": res, "data": data, "fd": num, "size": size}
        if pos:
            args["pos"] = a[3]
        if fd is not None and fd.sip:
            args["tuple"] = fd.name
        return args, fd

    return build


def _dup(*names: str) -> Builder:
    def build(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
        args: Args = {"res": res}
        args.update(
            (name, i32(a[i]) if name.endswith("fd") else a[i]) for i, name in enumerate(names)
        )
        fd = fd_info(rec, s, f, res, a[5]) if res >= 0 else None
        return args, fd

    return build


def _pair_fd(v: int) -> int:
    return -1 if v == _NO_FD else i32(v)


def _pipe(with_flags: bool) -> Builder:
    def build(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], res: int, _f: int) -> Any:
        args: Args = {"res": res, "fd1": _pair_fd(a[4]), "fd2": _pair_fd(a[5]), "ino": a[3]}
        if with_flags:
            args["flags"] = a[1]
        fd = FdInfo(num=args["fd1"], type="pipe", name=f"pipe:[{a[3]}]") if res == 0 else None
        return args, fd

    return build


def _socketpair(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], res: int, _f: int) -> Any:
    args = {"res": res, "fd1": _pair_fd(a[4]), "fd2": _pair_fd(a[5]),
            "domain": a[0], "type": a[1], "proto": a[2]}  # fmt: skip
    return args, FdInfo(num=args["fd1"], type="unix") if res == 0 else None


def _sockopt(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], res: int, _f: int) -> Any:
    args = {"res": res, "fd": i32(a[0]), "level": a[1], "optname": a[2],
            "val": i32(a[3]), "optlen": a[4] & 0xFFFFFFFF}  # fmt: skip
    return args, None


def _path_len(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
    path = text(rec, s[0], s[1])
    return {"res": res, "path": path, "length": a[1]}, FdInfo(type="file", name=path)


def _fd_walk(*ints: tuple[str, int]) -> Builder:
    """ftruncate/fchdir: the fd's path from the kernel's walk (slot 2)."""

    def build(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
        args: Args = {"res": res, "fd": i32(a[0])}
        args.update((name, a[i]) for name, i in ints)
        name = walked(rec, s[4], s[5])
        return args, FdInfo(num=i32(a[0]), type="file", name=name) if name else None

    return build


def _prctl(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
    name = text(rec, s[0], s[1]) if a[0] == PR_SET_NAME else ""
    return {"res": res, "option": a[0], "arg2_str": name, "arg2_int": a[1]}, None


def _signed(*names: str, res: str = "res") -> Builder:
    """Calls whose arguments are ints, signed 32-bit where the name says pid/fd/sig."""

    def build(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], r: int, _f: int) -> Any:
        args: Args = {res: r}
        for i, name in enumerate(names):
            if name:
                args[name] = i32(a[i]) if name.endswith(("pid", "tid", "fd", "sig")) else a[i]
        return args, None

    return build


def _limits(*names: tuple[str, int]) -> Builder:
    def build(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], res: int, _f: int) -> Any:
        args: Args = {"res": res}
        for name, i in names:
            v = a[i]
            args[name] = -1 if v == 0xFFFFFFFFFFFFFFFF else v
        return args, None

    return build


def _close(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, f: int) -> Any:
    """close: the fd as it was before the call (a socket's tuple, else its kind)."""
    num = i32(a[0])
    return {"res": res, "fd": num}, fd_info(rec, s, f, num, a[1])


def _signal_deliver(_rec: bytes, a: tuple[int, ...], _s: tuple[int, ...], _r: int, _f: int) -> Any:
    return {"spid": i32(a[0]), "dpid": i32(a[2]), "sig": a[1]}, None


_POLLFD = struct.Struct("<ihh")  # struct pollfd: fd, events, revents
_NO_TIMEOUT = (1 << 64) - 1  # c/io.bpf.h read_pair: no timespec given


def _poll(*, ppoll: bool) -> Builder:
    """poll/ppoll: the first pollfd entries (c/io.bpf.h POLL_FDS_MAX) as fdlist's entries."""

    def build(rec: bytes, a: tuple[int, ...], s: tuple[int, ...], res: int, _f: int) -> Any:
        raw = rec[s[0] : s[0] + s[1] - s[1] % _POLLFD.size]
        fds = [{"num": n, "events": ev, "revents": rev} for n, ev, rev in _POLLFD.iter_unpack(raw)]
        args: Args = {"res": res, "fds": fds}
        if ppoll:  # a timespec (ns; -1: none) and the signal mask
            args["timeout"] = -1 if a[2] == _NO_TIMEOUT else a[2] * 1_000_000_000 + a[3]
            args["sigmask"] = a[4]
        else:  # milliseconds
            args["timeout"] = i32(a[2])
        return args, None

    return build


IO_BUILDERS: dict[T, Builder] = {
    T.READ: _io(),
    T.WRITE: _io(),
    T.PREAD: _io(pos=True),
    T.PWRITE: _io(pos=True),
    T.READV: _io(vectored=True),
    T.WRITEV: _io(vectored=True),
    T.PREADV: _io(vectored=True, pos=True),
    T.PWRITEV: _io(vectored=True, pos=True),
    T.SENDTO: _io(),
    T.SENDMSG: _io(vectored=True),
    T.RECVFROM: _io(),
    T.RECVMSG: _io(vectored=True),
    T.SENDMMSG: _io(),  # the first message: its data, its length as size
    T.RECVMMSG: _io(),
    T.DUP: _dup("oldfd"),
    T.DUP2: _dup("oldfd", "newfd"),
    T.DUP3: _dup("oldfd", "newfd", "flags"),
    T.PIPE: _pipe(False),
    T.PIPE2: _pipe(True),
    T.SOCKETPAIR: _socketpair,
    T.GETSOCKOPT: _sockopt,
    T.SETSOCKOPT: _sockopt,
    T.SHUTDOWN: _signed("fd", "how"),
    T.CLOSE: _close,
    T.FCNTL: _signed("fd", "cmd", "arg"),
    T.SPLICE: _signed("fd_in", "", "fd_out", "", "size", "flags"),
    T.TRUNCATE: _path_len,
    T.FTRUNCATE: _fd_walk(("length", 1)),
    T.FCHDIR: _fd_walk(),
    T.PRCTL: _prctl,
    T.SECCOMP: _signed("op", "flags"),
    T.SETRLIMIT: _limits(("resource", 0), ("cur", 2), ("max", 3)),
    T.PRLIMIT: _limits(("pid", 0), ("resource", 1), ("newcur", 4), ("newmax", 5)),
    T.SETSID: _signed(),
    T.SETPGID: _signed("pid", "pgid"),
    T.IO_URING_SETUP: _signed("entries"),
    T.KILL: _signed("pid", "sig"),
    T.TKILL: _signed("tid", "sig"),
    T.TGKILL: _signed("pid", "tid", "sig"),
    T.PIDFD_OPEN: _signed("pid", "flags", res="fd"),
    T.PIDFD_GETFD: _signed("pid_fd", "target_fd", "flags", res="fd"),
    T.PROCESS_VM_READV: _signed("pid"),
    T.PROCESS_VM_WRITEV: _signed("pid"),
    T.MMAP: _signed("addr", "length", "prot", "flags", "fd", "offset"),
    T.MPROTECT: _signed("addr", "length", "prot"),
    T.SIGNALDELIVER: _signal_deliver,
    T.POLL: _poll(ppoll=False),
    T.PPOLL: _poll(ppoll=True),
}
