"""Decode raw ring buffer records into model Events (pure: bytes in, Event out)."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterable

from stockade.model import Event, EventType, Process
from stockade.sensor.bpf.argspec import BUILDERS, HDR_SIZE, Builder, text, walked
from stockade.sensor.bpf.argspec_io import IO_BUILDERS
from stockade.sensor.bpf.decoder_exec import argv_of, comm_of
from stockade.sensor.bpf.decoder_kinds import (
    ACCEPTS,
    CLONES,
    CPU_AT,
    HOST,
    IDENT,
    IDENT_SIZE,
    KIND_AT,
    MALFORMED,
    UNSET,
    DecodeError,
    KindReaders,
)
from stockade.sensor.bpf.kinds import GENERIC_KIND, KIND_IDS, KINDS
from stockade.sensor.bpf.syscalls import syscall_table

try:
    from stockade.sensor.bpf._readers import CompiledReaders
except ImportError:  # not built here: the Python readers do all the work
    COMPILED = False
else:
    COMPILED = True

__all__ = ["COMPILED", "DecodeError", "RecordDecoder", "boot_to_epoch_offset"]

_WHAT = struct.Struct("<Qq6QH2xH4H2x")  # c/record.h: what happened, after who acted
_EXEC = struct.Struct("<QqQ40xH2xH4H")  # ts, res, argument 0 (old pid), kind, flags, lengths
_GENERIC = struct.Struct("<Qq48xH12xH")  # ts, res, kind, syscall number
assert IDENT_SIZE + _WHAT.size == HDR_SIZE
_F_EXE_UPPER, _F_EXE_MEMFD = 1, 2


def boot_to_epoch_offset() -> int:
    """Nanoseconds to add to CLOCK_BOOTTIME readings to get time since the epoch."""
    return time.time_ns() - time.clock_gettime_ns(time.CLOCK_BOOTTIME)


class RecordDecoder(KindReaders):
    """Turns records written by sensor.bpf.c into Events with `source="ebpf"`.

    Events from the same identity (pid, tid, credentials, comm, cgroup ...) share one
    Process object: treat it as read-only (exec events always get their own).
    """

    def __init__(self, epoch_offset_ns: int | None = None, *, compiled: bool = True) -> None:
        super().__init__(boot_to_epoch_offset() if epoch_offset_ns is None else epoch_offset_ns)
        self._table: list[tuple[str, Builder] | None] = [None]
        builders = {**BUILDERS, **IO_BUILDERS}
        self._table += [(t.value, builders[t]) for t in KINDS]
        self._readers = self.readers()
        for kind in _EXECS:  # failed execs (no cwd) go on to the general path
            self._readers[kind] = self._execve
        self._readers[GENERIC_KIND & 0xFF] = self._generic
        self._syscalls = syscall_table()
        self.compiled = compiled and COMPILED
        if self.compiled:  # the same readers in C; the others stay the Python ones
            kinds = {t.value: KIND_IDS[t] for t in _COMPILED_KINDS}
            self._compiled = CompiledReaders(
                self._procs,
                self._pid_keys,
                self._forget,
                self._readers,
                HOST,
                self._offset,
                kinds,
                CLONES,
                ACCEPTS,
                _EXECS,
            )

    def decode(self, rec: bytes) -> Event:
        """Decode one record; raises DecodeError on a malformed one."""
        if len(rec) < HDR_SIZE:
            raise DecodeError(f"record of {len(rec)} bytes is shorter than the header")
        event = self._readers[rec[KIND_AT]](rec)
        event.cpu = rec[CPU_AT] | rec[CPU_AT + 1] << 8
        return event

    def decode_all(self, records: Iterable[bytes]) -> tuple[list[Event], int]:
        """Decode records in order: the events, and how many were malformed (skipped)."""
        if self.compiled:
            return self._compiled.decode_all(records)
        events: list[Event] = []
        append, readers, errors = events.append, self._readers, 0
        for rec in records:
            try:
                if len(rec) < HDR_SIZE:
                    raise DecodeError(f"record of {len(rec)} bytes is shorter than the header")
                event = readers[rec[KIND_AT]](rec)
                event.cpu = rec[CPU_AT] | rec[CPU_AT + 1] << 8
                append(event)
            except MALFORMED:
                errors += 1
        return events, errors

    def _decode(self, rec: bytes) -> Event:
        """Every kind: the whole header, then the kind's argspec builder."""
        (ts, res, a0, a1, a2, a3, a4, a5, kind, flags, l0, l1, l2, l3,
         ) = _WHAT.unpack_from(rec, IDENT_SIZE)  # fmt: skip
        try:
            type_name, build = self._table[kind]
        except (IndexError, TypeError):
            raise DecodeError(f"unknown record kind {kind}") from None
        o1 = HDR_SIZE + l0
        o2 = o1 + l1
        if o2 + l2 + l3 > len(rec):
            raise DecodeError(f"record of {len(rec)} bytes is shorter than its slots")
        ts += self._offset
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        args, fd = build(
            rec, (a0, a1, a2, a3, a4, a5), (HDR_SIZE, l0, o1, l1, o2, l2, o2 + l2, l3), res, flags
        )
        return Event(
            type=type_name,
            ts=ts,
            proc=proc,
            container=HOST,
            fd=fd,
            res=res,
            args=args,
            source="ebpf",
        )

    def _generic(self, rec: bytes) -> Event:
        """Any other syscall: named by its number, as Falco's generic event (ID, nativeID)."""
        ts, res, kind, nr = _GENERIC.unpack_from(rec, IDENT_SIZE)
        if kind != GENERIC_KIND:
            return self._decode(rec)
        name = self._syscalls.get(nr, "unknown")
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        return Event(type=name, ts=ts + self._offset, proc=proc, container=HOST, res=res,
                     args={"ID": name, "nativeID": nr}, source="ebpf")  # fmt: skip

    def _execve(self, rec: bytes) -> Event:
        """A successful exec (only those carry slot 3, the cwd): a Process of its own."""
        ts, _, old_pid, kind, flags, l0, l1, l2, l3 = _EXEC.unpack_from(rec, IDENT_SIZE)
        type_name = _EXECS.get(kind)
        if type_name is None or not l3:
            return self._decode(rec)
        o1 = HDR_SIZE + l0
        o2 = o1 + l1
        o3 = o2 + l2
        if o3 + l3 > len(rec):
            raise DecodeError(f"record of {len(rec)} bytes is shorter than its slots")
        (cg, ceff, cperm, start, pid, tid, ppid, uid, gid, euid, egid, luid, tty, vpid,
         comm) = IDENT.unpack_from(rec)  # fmt: skip
        argv, joined = argv_of(rec[o1:o2])
        filename = text(rec, HDR_SIZE, l0)
        exepath = walked(rec, o2, l2) or filename
        cwd = walked(rec, o3, l3)
        name = comm_of(comm)
        loginuid = -1 if luid == UNSET else luid
        proc = Process(
            pid=pid, tid=tid, ppid=ppid, vpid=vpid, name=name, exepath=exepath, argv=argv,
            cwd=cwd, uid=uid, gid=gid, euid=euid, egid=egid, loginuid=loginuid, tty=tty,
            start_ns=start + self._offset, cap_effective=ceff, cap_permitted=cperm,
            exe_upper_layer=bool(flags & _F_EXE_UPPER), exe_from_memfd=bool(flags & _F_EXE_MEMFD),
            cgroup_id=cg,
        )  # fmt: skip
        args = {
            "res": 0,
            "exe": argv[0] if argv else exepath,
            "args": joined,
            "pid": pid,
            "ptid": ppid,
            "cwd": cwd,
            "comm": name,
            "filename": filename,
            "trusted_exepath": exepath,
            "tty": tty,
            "loginuid": loginuid,
            "uid": uid,
            "gid": gid,
            "cap_permitted": cperm,
            "cap_effective": ceff,
            "old_pid": old_pid,
        }
        return Event(
            type=type_name, ts=ts + self._offset, proc=proc, container=HOST, res=0, args=args,
            source="ebpf",
        )  # fmt: skip


_EXECS = {KIND_IDS[t]: t.value for t in (EventType.EXECVE, EventType.EXECVEAT)}
_COMPILED_KINDS = (EventType.OPENAT, EventType.SOCKET, EventType.CONNECT, EventType.PROCEXIT)
