"""The netlink process connector: fork/exec/exit of every process, without eBPF.

The kernel only says which pid did what; the rest of an exec (name, argv, uids, cgroup) is
read from /proc when the message arrives, so very short-lived processes may come with
only their pid. Only the host's network namespace receives these messages.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time
from collections.abc import Iterable

from stockade.model import Event, EventType, Process
from stockade.sensor import procfs
from stockade.sensor.base import (
    ALL_EVENT_TYPES,
    SOURCES,
    EventSource,
    SensorStats,
    SensorUnavailable,
)

NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_CN_MCAST_IGNORE = 2
SO_RCVBUFFORCE = 33
NLMSG_DONE = 3

PROC_EVENT_FORK = 0x1
PROC_EVENT_EXEC = 0x2
PROC_EVENT_EXIT = 0x80000000

_NLMSGHDR = struct.Struct("=IHHII")
_CN_MSG = struct.Struct("=IIIIHH")
_PROC_EVENT = struct.Struct("=IIQ")
_FORK = struct.Struct("=IIII")
_EXEC = struct.Struct("=II")
_EXIT = struct.Struct("=IIII")
_HEADERS = _NLMSGHDR.size + _CN_MSG.size
RCVBUF_BYTES = 32 * 1024 * 1024


def _control_message(op: int) -> bytes:
    payload = struct.pack("=I", op)
    cn = _CN_MSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(payload), 0) + payload
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(cn), NLMSG_DONE, 0, 0, os.getpid()) + cn


class ProcConnectorSource(EventSource):
    """Process lifecycle events from the kernel's netlink process connector."""

    id = "proc_connector"

    def __init__(self, event_types: Iterable[EventType] = ALL_EVENT_TYPES) -> None:
        # Without execve (another source, audit, reports them): skip execs and their /proc reads.
        self._emit_exec = EventType.EXECVE in frozenset(event_types)
        self._sock: socket.socket | None = None
        self._stats = SensorStats()
        self._users = procfs.UserNames()
        # proc_event timestamps come from the monotonic clock.
        self._mono_to_epoch = time.time_ns() - time.monotonic_ns()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when this source can run here, else a one-line reason."""
        if not os.path.isdir("/proc/self"):
            return "no /proc"
        if os.geteuid() != 0:
            return "the process connector needs root (CAP_NET_ADMIN)"
        return None

    def start(self) -> None:
        """Subscribe to the process connector's multicast group."""
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_CONNECTOR)
        except OSError as e:
            raise SensorUnavailable(f"cannot open a NETLINK_CONNECTOR socket: {e}") from e
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            sock.bind((os.getpid(), CN_IDX_PROC))
            sock.send(_control_message(PROC_CN_MCAST_LISTEN))
        except OSError as e:
            sock.close()
            raise SensorUnavailable(f"cannot subscribe to the process connector: {e}") from e
        sock.setblocking(False)
        self._sock = sock

    def poll(self, timeout_s: float) -> list[Event]:
        """Wait up to `timeout_s` and return the events seen since the last poll."""
        if self._sock is None:
            raise SensorUnavailable("proc_connector: poll() before start()")
        events: list[Event] = []
        ready, _, _ = select.select([self._sock], [], [], timeout_s)
        if not ready:
            return events
        while len(events) < 4096:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.ENOBUFS:  # the kernel dropped messages for us
                    self._stats.dropped += 1
                    continue
                raise
            events.extend(self._decode(data))
        return events

    def _decode(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        offset = 0
        while offset + _HEADERS + _PROC_EVENT.size <= len(data):
            length = _NLMSGHDR.unpack_from(data, offset)[0]
            if length < _HEADERS:
                self._stats.decode_errors += 1
                break
            event = self._decode_proc_event(data, offset + _HEADERS)
            if event is not None:
                counts = self._stats.events_by_type
                counts[event.type] = counts.get(event.type, 0) + 1
                events.append(event)
            offset += (length + 3) & ~3
        return events

    def _decode_proc_event(self, data: bytes, at: int) -> Event | None:
        what, _cpu, mono_ns = _PROC_EVENT.unpack_from(data, at)
        ts = mono_ns + self._mono_to_epoch
        body = at + _PROC_EVENT.size
        try:
            if what == PROC_EVENT_FORK:
                _ppid, ptgid, cpid, ctgid = _FORK.unpack_from(data, body)
                return None if cpid != ctgid else self._clone(ts, ptgid, ctgid)
            if what == PROC_EVENT_EXEC:
                pid, tgid = _EXEC.unpack_from(data, body)
                return self._execve(ts, tgid) if self._emit_exec else None
            if what == PROC_EVENT_EXIT:
                pid, tgid, code, _sig = _EXIT.unpack_from(data, body)
                if pid != tgid:
                    return None
                proc = Process(pid=tgid, tid=tgid)
                args = {"status": code}
                return Event(type="procexit", ts=ts, proc=proc, args=args, source=self.id)
        except struct.error:
            self._stats.decode_errors += 1
        return None

    def _clone(self, ts: int, parent: int, child: int) -> Event:
        # The child's view of the clone (res 0): it inherits the parent's image, which the
        # process tree copies; /proc may already show a later exec, so only the start time
        # is read here.
        start_ns = procfs.read_start_ns(child) or ts
        proc = Process(pid=child, tid=child, ppid=parent, start_ns=start_ns)
        return Event(type="clone", ts=ts, proc=proc, args={"ptid": parent}, source=self.id)

    def _execve(self, ts: int, pid: int) -> Event:
        proc = procfs.read_process(pid, self._users) or Process(pid=pid, tid=pid)
        args: dict[str, object] = {}
        if proc.exepath:
            args["exe"] = proc.exepath
        return Event(type="execve", ts=ts, proc=proc, args=args, source=self.id)

    def stop(self) -> None:
        """Unsubscribe and close the socket."""
        if self._sock is not None:
            try:
                self._sock.setblocking(True)
                self._sock.send(_control_message(PROC_CN_MCAST_IGNORE))
            except OSError:
                pass
            self._sock.close()
            self._sock = None

    def stats(self) -> SensorStats:
        """Counters since start."""
        return SensorStats(
            events_by_type=dict(self._stats.events_by_type),
            dropped=self._stats.dropped,
            decode_errors=self._stats.decode_errors,
        )


SOURCES.register(ProcConnectorSource.id, ProcConnectorSource)
