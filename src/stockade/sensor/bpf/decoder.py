"""Decode raw ring buffer records into model Events (pure: bytes in, Event out)."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable

from stockade.model import Container, Event, EventType, FdInfo, Process
from stockade.sensor.bpf.argspec import (
    BUILDERS,
    HDR_SIZE,
    REC_F_TUPLE,
    WALKED,
    Builder,
    text,
    walked,
)
from stockade.sensor.bpf.decoder_net import tuple_fd_at
from stockade.sensor.bpf.kinds import KIND_IDS, KINDS
from stockade.sensor.bpf.sockaddr import parse_sockaddr

# c/record.h: who acted (88 bytes, cached per distinct value), then what happened.
_IDENT = struct.Struct("<QQQQ10I16s")
_WHAT = struct.Struct("<Qq6QIH4H2x")
_IDENT_SIZE = _IDENT.size
assert _IDENT_SIZE + _WHAT.size == HDR_SIZE
# openat, most events by far, reads only what it uses: ts, res, dirfd (the low half of
# argument 0, signed), flags and mode (arguments 2, 3), kind and the slot lengths.
_OPENAT = struct.Struct("<Qqi4x8xQQ16xIxx4H")
# Other frequent kinds likewise: ts, res, the arguments they use, kind, flags, lengths.
_FD_CALL = struct.Struct("<Qqi4x40xIH4H")  # connect, accept: argument 0 as a signed int
_THREE = struct.Struct("<QqQQQ24xIH4H")  # socket
_NONE = struct.Struct("<Qq48xIH4H")  # clone, fork, vfork
_TWO = struct.Struct("<QqQQ32xIH4H")  # procexit
_KIND_AT = _IDENT_SIZE + 64  # the kind's low byte: a cheap first guess, checked after
_K_OPENAT = KIND_IDS[EventType.OPENAT]
_K_CONNECT, _K_SOCKET = KIND_IDS[EventType.CONNECT], KIND_IDS[EventType.SOCKET]
_K_PROCEXIT = KIND_IDS[EventType.PROCEXIT]
_ACCEPTS = {KIND_IDS[EventType.ACCEPT]: "accept", KIND_IDS[EventType.ACCEPT4]: "accept4"}
_CLONES = {KIND_IDS[t]: t.value for t in (EventType.CLONE, EventType.CLONE3, EventType.FORK,
                                           EventType.VFORK)}  # fmt: skip
_HOST = Container.host()  # what Event's default would be, without a call per event
_CACHE_MAX = 65536
_F_EXE_UPPER, _F_EXE_MEMFD = 1, 2
_UNSET = 0xFFFFFFFF


class DecodeError(ValueError):
    """A record is too short or has an unknown kind."""


def boot_to_epoch_offset() -> int:
    """Nanoseconds to add to CLOCK_BOOTTIME readings to get time since the epoch."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


class RecordDecoder:
    """Turns records written by sensor.bpf.c into Events with `source="ebpf"`."""

    def __init__(self, epoch_offset_ns: int | None = None) -> None:
        self._offset = boot_to_epoch_offset() if epoch_offset_ns is None else epoch_offset_ns
        self._procs: dict[bytes, Process] = {}
        self._table: list[tuple[str, Builder] | None] = [None]
        self._table += [(t.value, BUILDERS[t]) for t in KINDS]
        self._exec_kinds = {i for i, t in enumerate(KINDS, 1) if t in _EXEC_TYPES}
        # Kinds with a reader of their own, by the kind's low byte (checked in full there).
        self._readers: list[Callable[[bytes], Event]] = [self._decode] * 256
        self._readers[_K_CONNECT] = self._connect
        self._readers[_K_SOCKET] = self._socket
        self._readers[_K_PROCEXIT] = self._procexit
        for kind in _ACCEPTS:
            self._readers[kind] = self._accept
        for kind in _CLONES:
            self._readers[kind] = self._clone
        # The last actor seen: most records come in runs from one thread.
        self._last_key = bytes(_IDENT_SIZE)
        self._last_proc = self._process(self._last_key)

    def _process(self, rec: bytes) -> Process:
        (cg, ceff, cperm, start, pid, tid, ppid, uid, gid, euid, egid, luid, tty, vpid,
         comm) = _IDENT.unpack_from(rec)  # fmt: skip
        return Process(
            pid=pid,
            tid=tid,
            ppid=ppid,
            vpid=vpid,
            name=comm.split(b"\0", 1)[0].decode(errors="replace"),
            uid=uid,
            gid=gid,
            euid=euid,
            egid=egid,
            loginuid=-1 if luid == _UNSET else luid,
            tty=tty,
            start_ns=start + self._offset,
            cap_effective=ceff,
            cap_permitted=cperm,
            cgroup_id=cg,
        )

    def _actor(self, rec: bytes) -> Process:
        """The shared Process of the record's identity (one per distinct identity)."""
        key = rec[:_IDENT_SIZE]
        proc = self._procs.get(key)
        if proc is None:
            if len(self._procs) >= _CACHE_MAX:
                self._procs.clear()
            proc = self._procs[key] = self._process(rec)
        self._last_key, self._last_proc = key, proc
        return proc

    def decode(self, rec: bytes) -> Event:
        """Decode one record; raises DecodeError on a malformed one.

        Events from the same identity (pid, tid, credentials, comm, cgroup ...) share one
        Process object: treat it as read-only (exec events always get their own).
        """
        if len(rec) < HDR_SIZE:
            raise DecodeError(f"record of {len(rec)} bytes is shorter than the header")
        if rec[_KIND_AT] != _K_OPENAT:
            return self._readers[rec[_KIND_AT]](rec)
        ts, res, dirfd, flags, mode, kind, l0, l1, l2, l3 = _OPENAT.unpack_from(rec, _IDENT_SIZE)
        if kind != _K_OPENAT:
            return self._decode(rec)
        o2 = HDR_SIZE + l0 + l1
        if o2 + l2 + l3 > len(rec):
            raise DecodeError(f"record of {len(rec)} bytes is shorter than its slots")
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        # argspec's openat builder, inlined
        name = WALKED.get(rec[o2 : o2 + l2 - 1]) if l2 > 0 else None
        if name is None:
            name = walked(rec, o2, l2) or text(rec, HDR_SIZE, l0)
        return Event(
            type="openat",
            ts=ts + self._offset,
            proc=proc,
            container=_HOST,
            fd=FdInfo(num=res, type="file", name=name, flags=flags),
            res=res,
            args={"fd": res, "dirfd": dirfd, "name": name, "flags": flags, "mode": mode},
            source="ebpf",
        )

    def _decode(self, rec: bytes) -> Event:
        """Every kind but openat: the whole header, then the kind's argspec builder."""
        (ts, res, a0, a1, a2, a3, a4, a5, kind, flags, l0, l1, l2, l3,
         ) = _WHAT.unpack_from(rec, _IDENT_SIZE)  # fmt: skip
        try:
            type_name, build = self._table[kind]
        except (IndexError, TypeError):
            raise DecodeError(f"unknown record kind {kind}") from None
        o1 = HDR_SIZE + l0
        o2 = o1 + l1
        if o2 + l2 + l3 > len(rec):
            raise DecodeError(f"record of {len(rec)} bytes is shorter than its slots")
        ts += self._offset
        if l3 and kind in self._exec_kinds:  # only exec records carry slot 3 (cwd)
            slots = (HDR_SIZE, l0, o1, l1, o2, l2, o2 + l2, l3)
            return self._exec(rec, type_name, ts, self._process(rec), flags, slots, a0)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        args, fd = build(
            rec, (a0, a1, a2, a3, a4, a5), (HDR_SIZE, l0, o1, l1, o2, l2, o2 + l2, l3), res, flags
        )
        return Event(
            type=type_name,
            ts=ts,
            proc=proc,
            container=_HOST,
            fd=fd,
            res=res,
            args=args,
            source="ebpf",
        )

    def _short(self, rec: bytes) -> DecodeError:
        return DecodeError(f"record of {len(rec)} bytes is shorter than its slots")

    def _connect(self, rec: bytes) -> Event:
        ts, res, num, kind, flags, l0, l1, l2, l3 = _FD_CALL.unpack_from(rec, _IDENT_SIZE)
        o1 = HDR_SIZE + l0
        if kind != _K_CONNECT:
            return self._decode(rec)
        if o1 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        fd: FdInfo | None = None
        if flags & REC_F_TUPLE:
            fd = tuple_fd_at(rec, o1, l1, num, False)
        elif l0:
            family, addr, port = parse_sockaddr(rec[HDR_SIZE:o1])
            fd = FdInfo(num=num, type=family, name=addr, dip=addr, dport=port)
        args = {"res": res, "tuple": fd.name if fd else "", "fd": num}
        return Event(type="connect", ts=ts + self._offset, proc=proc, container=_HOST, fd=fd,
                     res=res, args=args, source="ebpf")  # fmt: skip

    def _accept(self, rec: bytes) -> Event:
        ts, res, _, kind, flags, l0, l1, l2, l3 = _FD_CALL.unpack_from(rec, _IDENT_SIZE)
        type_name = _ACCEPTS.get(kind)
        if type_name is None:
            return self._decode(rec)
        o1 = HDR_SIZE + l0
        if o1 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        fd = tuple_fd_at(rec, o1, l1, res, True) if flags & REC_F_TUPLE else None
        return Event(type=type_name, ts=ts + self._offset, proc=proc, container=_HOST, fd=fd,
                     res=res, args={"fd": res, "tuple": fd.name if fd else ""},
                     source="ebpf")  # fmt: skip

    def _socket(self, rec: bytes) -> Event:
        ts, res, a0, a1, a2, kind, _, l0, l1, l2, l3 = _THREE.unpack_from(rec, _IDENT_SIZE)
        if kind != _K_SOCKET:
            return self._decode(rec)
        if HDR_SIZE + l0 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        return Event(type="socket", ts=ts + self._offset, proc=proc, container=_HOST, res=res,
                     args={"fd": res, "domain": a0, "type": a1, "proto": a2},
                     source="ebpf")  # fmt: skip

    def _clone(self, rec: bytes) -> Event:
        ts, res, kind, _, l0, l1, l2, l3 = _NONE.unpack_from(rec, _IDENT_SIZE)
        type_name = _CLONES.get(kind)
        if type_name is None:
            return self._decode(rec)
        if HDR_SIZE + l0 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        return Event(type=type_name, ts=ts + self._offset, proc=proc, container=_HOST, res=res,
                     args={"res": res}, source="ebpf")  # fmt: skip

    def _procexit(self, rec: bytes) -> Event:
        ts, res, a0, a1, kind, _, l0, l1, l2, l3 = _TWO.unpack_from(rec, _IDENT_SIZE)
        if kind != _K_PROCEXIT:
            return self._decode(rec)
        if HDR_SIZE + l0 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        code = a0 or a1
        args = {
            "status": code,
            "ret": (code >> 8) & 0xFF,
            "sig": code & 0x7F,
            "core": code >> 7 & 1,
        }
        return Event(type="procexit", ts=ts + self._offset, proc=proc, container=_HOST,
                     res=res, args=args, source="ebpf")  # fmt: skip

    def _exec(
        self, rec: bytes, type_name: str, ts: int, proc: Process, flags: int,
        s: tuple[int, ...], old_pid: int,
    ) -> Event:  # fmt: skip
        raw_argv = rec[s[2] : s[2] + s[3]].split(b"\0")
        argv = tuple(a.decode(errors="replace") for a in raw_argv)
        if argv and argv[-1] == "":
            argv = argv[:-1]
        proc.argv = argv
        proc.exepath = walked(rec, s[4], s[5]) or text(rec, s[0], s[1])
        proc.cwd = walked(rec, s[6], s[7])
        proc.exe_upper_layer = bool(flags & _F_EXE_UPPER)
        proc.exe_from_memfd = bool(flags & _F_EXE_MEMFD)
        args = {
            "res": 0,
            "exe": argv[0] if argv else proc.exepath,
            "args": " ".join(argv[1:]),
            "pid": proc.pid,
            "ptid": proc.ppid,
            "cwd": proc.cwd,
            "comm": proc.name,
            "filename": text(rec, s[0], s[1]),
            "trusted_exepath": proc.exepath,
            "tty": proc.tty,
            "loginuid": proc.loginuid,
            "uid": proc.uid,
            "gid": proc.gid,
            "cap_permitted": proc.cap_permitted,
            "cap_effective": proc.cap_effective,
            "old_pid": old_pid,
        }
        return Event(
            type=type_name, ts=ts, proc=proc, container=_HOST, res=0, args=args, source="ebpf"
        )


_EXEC_TYPES = frozenset({EventType.EXECVE, EventType.EXECVEAT})
