"""Decode raw ring buffer records into model Events (pure: bytes in, Event out)."""

from __future__ import annotations

import struct
import time

from stockade.model import Container, Event, EventType, FdInfo, Process
from stockade.sensor.bpf.argspec import BUILDERS, HDR_SIZE, WALKED, Builder, text, walked
from stockade.sensor.bpf.kinds import KIND_IDS, KINDS

# c/record.h: who acted (88 bytes, cached per distinct value), then what happened.
_IDENT = struct.Struct("<QQQQ10I16s")
_WHAT = struct.Struct("<Qq6QIH4H2x")
_IDENT_SIZE = _IDENT.size
assert _IDENT_SIZE + _WHAT.size == HDR_SIZE
_K_OPENAT = KIND_IDS[EventType.OPENAT]
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

    def decode(self, rec: bytes) -> Event:
        """Decode one record; raises DecodeError on a malformed one.

        Events from the same identity (pid, tid, credentials, comm, cgroup ...) share one
        Process object: treat it as read-only (exec events always get their own).
        """
        if len(rec) < HDR_SIZE:
            raise DecodeError(f"record of {len(rec)} bytes is shorter than the header")
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
        key = rec[:_IDENT_SIZE]
        proc = self._procs.get(key)
        if proc is None:
            if len(self._procs) >= _CACHE_MAX:
                self._procs.clear()
            proc = self._procs[key] = self._process(rec)
        if kind == _K_OPENAT:  # most events by far: argspec's openat builder, inlined
            name = WALKED.get(rec[o2 : o2 + l2 - 1]) if l2 > 0 else None
            if name is None:
                name = walked(rec, o2, l2) or text(rec, HDR_SIZE, l0)
            dirfd = a0 & 0xFFFFFFFF
            if dirfd & 0x80000000:
                dirfd -= 1 << 32
            return Event(
                type=type_name,
                ts=ts,
                proc=proc,
                container=_HOST,
                fd=FdInfo(num=res, type="file", name=name, flags=a2),
                res=res,
                args={"fd": res, "dirfd": dirfd, "name": name, "flags": a2, "mode": a3},
                source="ebpf",
            )
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
