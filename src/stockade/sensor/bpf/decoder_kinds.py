"""Readers of the most frequent record kinds, and the Process shared per actor identity.

Each reader unpacks only the header fields its kind uses, checks the kind in full (the
dispatch went by its low byte) and the slot lengths, and builds the Event its argspec
builder would give. Anything else goes to the general path, `_decode`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from stockade.model import Container, Event, EventType, FdInfo, Process
from stockade.sensor.base import SensorError
from stockade.sensor.bpf.argspec import (
    HDR_SIZE,
    REC_F_TUPLE,
    TEXTS,
    WALKED,
    file_layer,
    text,
    walked,
)
from stockade.sensor.bpf.decoder_exec import comm_of
from stockade.sensor.bpf.decoder_net import tuple_fd_at
from stockade.sensor.bpf.kinds import KIND_IDS
from stockade.sensor.bpf.sockaddr import parse_sockaddr, with_requested_peer

# c/record.h: who acted (88 bytes, cached per distinct value), then what happened.
IDENT = struct.Struct("<QQQQ10I16s")
IDENT_SIZE = IDENT.size
_IDENT_SIZE = IDENT_SIZE
KIND_AT = IDENT_SIZE + 64  # the kind's low byte: a cheap first guess, checked after
CPU_AT = IDENT_SIZE + 66  # u16: the CPU the record was written on (evt.cpu)
# Per kind: ts, res, the arguments it uses, kind, flags, slot lengths.
_OPENAT = struct.Struct("<Qqi4x8xQQQQH2xH4H")  # dirfd: argument 0's low half, signed
_FD_CALL = struct.Struct("<Qqi4x40xH2xH4H")  # connect, accept: argument 0 as a signed int
_THREE = struct.Struct("<QqQQQ24xH2xH4H")  # socket
_NONE = struct.Struct("<Qq48xH2xH4H")  # clone, fork, vfork
_TWO = struct.Struct("<QqQQ32xH2xH4H")  # procexit
_K_OPENAT = KIND_IDS[EventType.OPENAT]
_K_CONNECT, _K_SOCKET = KIND_IDS[EventType.CONNECT], KIND_IDS[EventType.SOCKET]
_K_PROCEXIT = KIND_IDS[EventType.PROCEXIT]
ACCEPTS = {KIND_IDS[EventType.ACCEPT]: "accept", KIND_IDS[EventType.ACCEPT4]: "accept4"}
CLONES = {KIND_IDS[t]: t.value for t in (EventType.CLONE, EventType.CLONE3, EventType.FORK,
                                          EventType.VFORK)}  # fmt: skip
HOST = Container.host()  # what Event's default would be, without a call per event
# Distinct identities kept (the cache starts over when full). Every exec or thread is a
# new identity; a process's are dropped when its exit is read, so the bound is only for
# exits that were lost (a miss costs one Process built again).
ACTORS_MAX = 8192
UNSET = 0xFFFFFFFF  # loginuid not set


class DecodeError(SensorError, ValueError):
    """A record is too short or has an unknown kind."""


MALFORMED = (ValueError, IndexError, struct.error)
"""What reading a malformed record raises: DecodeError, or a slot that does not parse."""


class KindReaders:
    """The decoder's state (epoch offset, actors) and its readers of frequent kinds."""

    def __init__(self, epoch_offset_ns: int) -> None:
        self._offset = epoch_offset_ns
        self._procs: dict[bytes, Process] = {}
        # pid (thread group) -> its identities in `_procs`: all go when the group exits
        self._pid_keys: dict[int, list[bytes]] = {}
        # The last actor seen: most records come in runs from one thread.
        self._nobody = (bytes(_IDENT_SIZE), self._process(bytes(_IDENT_SIZE)))
        self._last_key, self._last_proc = self._nobody

    def readers(self) -> list[Callable[[bytes], Event]]:
        """The reader of each kind, by the kind's low byte (`_decode` where none)."""
        table: list[Callable[[bytes], Event]] = [self._decode] * 256
        table[_K_OPENAT] = self._openat
        table[_K_CONNECT] = self._connect
        table[_K_SOCKET] = self._socket
        table[_K_PROCEXIT] = self._procexit
        for kind in ACCEPTS:
            table[kind] = self._accept
        for kind in CLONES:
            table[kind] = self._clone
        return table

    def _decode(self, rec: bytes) -> Event:
        """The general path: every kind, through its argspec builder."""
        raise NotImplementedError

    def _process(self, rec: bytes) -> Process:
        (cg, ceff, cperm, start, pid, tid, ppid, uid, gid, euid, egid, luid, tty, vpid,
         comm) = IDENT.unpack_from(rec)  # fmt: skip
        return Process(
            pid=pid,
            tid=tid,
            ppid=ppid,
            vpid=vpid,
            name=comm_of(comm),
            uid=uid,
            gid=gid,
            euid=euid,
            egid=egid,
            loginuid=-1 if luid == UNSET else luid,
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
            if len(self._procs) >= ACTORS_MAX:
                self._procs.clear()
                self._pid_keys.clear()
            proc = self._procs[key] = self._process(rec)
            keys = self._pid_keys.get(proc.pid)
            if keys is None:
                self._pid_keys[proc.pid] = [key]
            else:
                keys.append(key)
        self._last_key, self._last_proc = key, proc
        return proc

    def _forget(self, pid: int) -> None:
        """Drop the identities of a thread group that exited (its procexit comes when the
        last thread goes, and a reused pid starts later: a new identity)."""
        keys = self._pid_keys.pop(pid, None)
        if keys is not None:
            procs = self._procs
            for key in keys:
                procs.pop(key, None)
        # a record of a dropped identity builds its Process again, as the compiled readers do
        self._last_key, self._last_proc = self._nobody

    def _openat(self, rec: bytes) -> Event:
        ts, res, dirfd, flags, mode, dev, ino, kind, rflags, l0, l1, l2, l3 = _OPENAT.unpack_from(
            rec, _IDENT_SIZE
        )
        if kind != _K_OPENAT:
            return self._decode(rec)
        o2 = HDR_SIZE + l0 + l1
        if o2 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        # argspec's openat builder, inlined
        name = WALKED.get(rec[o2 : o2 + l2 - 1]) if l2 > 0 else None
        raw = TEXTS.get(rec[HDR_SIZE : HDR_SIZE + l0 - 1]) if l0 > 1 else ""
        if raw is None:
            raw = text(rec, HDR_SIZE, l0)
        if name is None:
            name = walked(rec, o2, l2) or raw
        fd = FdInfo(num=res, type="file", name=name, flags=flags, nameraw=raw)
        if ino:  # 0: the kernel could not read the new file
            fd.dev, fd.ino, fd.layer = dev, ino, file_layer(rflags)
        return Event(
            type="openat",
            ts=ts + self._offset,
            proc=proc,
            container=HOST,
            fd=fd,
            res=res,
            args={"fd": res, "dirfd": dirfd, "name": raw, "flags": flags, "mode": mode},
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
            fd = with_requested_peer(tuple_fd_at(rec, o1, l1, num, False), rec[HDR_SIZE:o1])
        elif l0:
            family, addr, port = parse_sockaddr(rec[HDR_SIZE:o1])
            fd = FdInfo(num=num, type=family, name=addr, dip=addr, dport=port)
        args = {"res": res, "tuple": fd.name if fd else "", "fd": num}
        return Event(type="connect", ts=ts + self._offset, proc=proc, container=HOST, fd=fd,
                     res=res, args=args, source="ebpf")  # fmt: skip

    def _accept(self, rec: bytes) -> Event:
        ts, res, _, kind, flags, l0, l1, l2, l3 = _FD_CALL.unpack_from(rec, _IDENT_SIZE)
        type_name = ACCEPTS.get(kind)
        if type_name is None:
            return self._decode(rec)
        o1 = HDR_SIZE + l0
        if o1 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        fd = tuple_fd_at(rec, o1, l1, res, True) if flags & REC_F_TUPLE else None
        return Event(type=type_name, ts=ts + self._offset, proc=proc, container=HOST, fd=fd,
                     res=res, args={"fd": res, "tuple": fd.name if fd else ""},
                     source="ebpf")  # fmt: skip

    def _socket(self, rec: bytes) -> Event:
        ts, res, a0, a1, a2, kind, _, l0, l1, l2, l3 = _THREE.unpack_from(rec, _IDENT_SIZE)
        if kind != _K_SOCKET:
            return self._decode(rec)
        if HDR_SIZE + l0 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        return Event(type="socket", ts=ts + self._offset, proc=proc, container=HOST, res=res,
                     args={"fd": res, "domain": a0, "type": a1, "proto": a2},
                     source="ebpf")  # fmt: skip

    def _clone(self, rec: bytes) -> Event:
        ts, res, kind, _, l0, l1, l2, l3 = _NONE.unpack_from(rec, _IDENT_SIZE)
        type_name = CLONES.get(kind)
        if type_name is None:
            return self._decode(rec)
        if HDR_SIZE + l0 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        return Event(type=type_name, ts=ts + self._offset, proc=proc, container=HOST, res=res,
                     args={"res": res}, source="ebpf")  # fmt: skip

    def _procexit(self, rec: bytes) -> Event:
        ts, res, a0, a1, kind, _, l0, l1, l2, l3 = _TWO.unpack_from(rec, _IDENT_SIZE)
        if kind != _K_PROCEXIT:
            return self._decode(rec)
        if HDR_SIZE + l0 + l1 + l2 + l3 > len(rec):
            raise self._short(rec)
        proc = self._last_proc if rec.startswith(self._last_key) else self._actor(rec)
        self._forget(proc.pid)
        code = a0 or a1
        args = {
            "status": code,
            "ret": (code >> 8) & 0xFF,
            "sig": code & 0x7F,
            "core": code >> 7 & 1,
        }
        return Event(type="procexit", ts=ts + self._offset, proc=proc, container=HOST,
                     res=res, args=args, source="ebpf")  # fmt: skip
