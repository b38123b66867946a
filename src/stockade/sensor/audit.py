"""The kernel audit subsystem as an event source: every execve with its argv, cwd and uids.

The audit records of an exec carry what the process connector has to read from /proc
(often too late for short-lived processes): argv, cwd, exe, uids, ppid and tty. This source
claims the audit pid (never from a running auditd), adds exit rules for execve/execveat
tagged `-k stockade`, and removes exactly those rules and restores the audit state on stop.
Record parsing (`AuditAssembler`, `parse_fields`, `execve_argv`) is pure.
"""

from __future__ import annotations

import errno
import os
import platform
import re
import select
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stockade.model import Event, EventType, Process
from stockade.sensor import procfs
from stockade.sensor.base import (
    ALL_EVENT_TYPES,
    SOURCES,
    EventSource,
    SensorStats,
    SensorUnavailable,
)

NETLINK_AUDIT = 9
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
AUDIT_GET, AUDIT_SET, AUDIT_LIST_RULES, AUDIT_ADD_RULE, AUDIT_DEL_RULE = (
    1000, 1001, 1013, 1011, 1012,
)  # fmt: skip
AUDIT_SYSCALL, AUDIT_PATH, AUDIT_CWD, AUDIT_EXECVE, AUDIT_EOE, AUDIT_PROCTITLE = (
    1300, 1302, 1307, 1309, 1320, 1327,
)  # fmt: skip
AUDIT_STATUS_ENABLED, AUDIT_STATUS_PID, AUDIT_STATUS_BACKLOG_LIMIT = 0x1, 0x4, 0x10
AUDIT_FILTER_EXIT, AUDIT_ALWAYS, AUDIT_EQUAL = 0x04, 2, 0x40000000
AUDIT_ARCH_FIELD, AUDIT_FILTERKEY = 11, 210
SO_RCVBUFFORCE = 33
RULE_KEY = "stockade"
BACKLOG_LIMIT = 16384  # records the kernel queues for us before making execs wait
STATE_PATH = Path("/run/stockade/audit-state")  # "enabled backlog" found at start

# (audit arch value, execve, execveat) per machine; the numbers are the native ABI's.
EXEC_SYSCALLS = {
    "x86_64": (0xC000003E, 59, 322),
    "aarch64": (0xC00000B7, 221, 281),
}
_NLMSGHDR = struct.Struct("=IHHII")
_STATUS = struct.Struct("=11I")  # struct audit_status (6.x: 11 u32)
_RULE_HEAD = struct.Struct("=3I64I64I64I64II")  # struct audit_rule_data without buf
_RECORD_HEAD = re.compile(r"audit\((\d+)\.(\d+):(\d+)\):\s*")
_FIELD = re.compile(r'([\w\[\]]+)=("[^"]*"|\S*)')
_TTY = re.compile(r"(pts|tty|ttyS)(\d+)$")
_GROUP_TYPES = frozenset({AUDIT_SYSCALL, AUDIT_EXECVE, AUDIT_CWD, AUDIT_PATH, AUDIT_PROCTITLE})


def decode_value(raw: str) -> bytes:
    """An audit string: "quoted" as is, else hex-encoded bytes (or a bare word like (null))."""
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1].encode()
    try:
        return bytes.fromhex(raw)
    except ValueError:
        return raw.encode()


def _text(raw: str | None) -> str:
    if raw is None or raw == "(null)":
        return ""
    return decode_value(raw).decode(errors="surrogateescape")


def parse_fields(text: str) -> tuple[int, int, dict[str, str]]:
    """Split a record's text into (ts ns, serial, fields in order, values still encoded)."""
    head = _RECORD_HEAD.match(text)
    if head is None:
        raise ValueError(f"not an audit record: {text[:60]!r}")
    ts = int(head[1]) * 1_000_000_000 + int(head[2]) * 1_000_000
    fields = {m[1]: m[2] for m in _FIELD.finditer(text, head.end())}
    return ts, int(head[3]), fields


def execve_argv(records: list[dict[str, str]]) -> tuple[str, ...]:
    """The argv of one or more EXECVE records: aN, hex-encoded aN, and aN_len/aN[i] chunks."""
    merged: dict[str, str] = {}
    for rec in records:
        merged.update(rec)
    argc = int(merged.get("argc", "0"))
    argv: list[str] = []
    for i in range(argc):
        if (whole := merged.get(f"a{i}")) is not None:
            data = decode_value(whole)
        elif f"a{i}_len" in merged:
            chunks = _chunks(merged, i)
            data = b"".join(decode_value(c) for c in chunks)
        else:
            break  # a record of the exec was lost; keep what came in order
        argv.append(data.decode(errors="surrogateescape"))
    return tuple(argv)


def _chunks(fields: dict[str, str], i: int) -> Iterator[str]:
    n = 0
    while (chunk := fields.get(f"a{i}[{n}]")) is not None:
        yield chunk
        n += 1


def tty_number(name: str) -> int:
    """The device number (as in /proc/PID/stat tty_nr) of an audit tty name, 0 for none."""
    m = _TTY.match(name)
    if m is None:
        return 0
    major, minor = {"pts": (136, 0), "tty": (4, 0), "ttyS": (4, 64)}[m[1]]
    minor += int(m[2])
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


def _id(fields: dict[str, str], name: str) -> int:
    value = int(fields.get(name, "-1"))
    return -1 if value == 0xFFFFFFFF else value


@dataclass(slots=True)
class _Group:
    ts: int
    round: int
    syscall: dict[str, str] | None = None
    execve: list[dict[str, str]] = field(default_factory=list)
    cwd: str = ""
    proctitle: str = ""


class AuditAssembler:
    """Groups audit records by serial and turns each exec's group into one Event (pure)."""

    def __init__(self, arch: int, syscalls: tuple[int, ...], key: str = RULE_KEY) -> None:
        self._arch, self._syscalls, self._key = f"{arch:x}", frozenset(syscalls), key
        self._groups: dict[int, _Group] = {}
        self._round = 0

    def feed(self, rtype: int, text: str) -> list[Event]:
        """Add one record; returns the event its EOE completes (else nothing)."""
        if rtype == AUDIT_EOE:
            _, serial, _ = parse_fields(text)
            done = self._groups.pop(serial, None)
            return self._finish(done)
        if rtype not in _GROUP_TYPES:
            return []
        ts, serial, fields = parse_fields(text)
        group = self._groups.setdefault(serial, _Group(ts, self._round))
        if rtype == AUDIT_SYSCALL:
            group.syscall = fields
        elif rtype == AUDIT_EXECVE:
            group.execve.append(fields)
        elif rtype == AUDIT_CWD:
            group.cwd = _text(fields.get("cwd"))
        elif rtype == AUDIT_PROCTITLE:
            group.proctitle = fields.get("proctitle", "")
        return []

    def tick(self) -> list[Event]:
        """Emit the groups that waited a whole round for their EOE (lost or never sent)."""
        self._round += 1
        stale = [s for s, g in self._groups.items() if g.round < self._round - 1]
        return self._finish_all(stale)

    def flush(self) -> list[Event]:
        """Emit every pending group now (on stop)."""
        return self._finish_all(list(self._groups))

    def _finish_all(self, serials: list[int]) -> list[Event]:
        events: list[Event] = []
        for serial in sorted(serials):
            events += self._finish(self._groups.pop(serial))
        return events

    def _is_exec(self, sc: dict[str, str]) -> bool:
        if self._key in _text(sc.get("key")).split("\x01"):
            return True
        return sc.get("arch") == self._arch and int(sc.get("syscall", "-1")) in self._syscalls

    def _finish(self, group: _Group | None) -> list[Event]:
        if group is None or group.syscall is None or not self._is_exec(group.syscall):
            return []
        sc = group.syscall
        argv = execve_argv(group.execve) if group.execve else ()
        if not argv and group.proctitle:
            argv = tuple(_text(group.proctitle).split("\0"))
        pid = int(sc.get("pid", "0"))
        proc = Process(
            pid=pid,
            tid=pid,
            ppid=int(sc.get("ppid", "0")),
            name=_text(sc.get("comm")),
            exepath=_text(sc.get("exe")),
            argv=argv,
            cwd=group.cwd,
            uid=_id(sc, "uid"),
            gid=_id(sc, "gid"),
            euid=_id(sc, "euid"),
            egid=_id(sc, "egid"),
            loginuid=_id(sc, "auid"),
            tty=tty_number(sc.get("tty", "")),
        )
        args: dict[str, object] = {"exe": proc.exepath} if proc.exepath else {}
        res = int(sc.get("exit", "0"))
        return [Event(type="execve", ts=group.ts, proc=proc, res=res, args=args, source="audit")]


def rule_data(arch: int, syscalls: tuple[int, ...], key: str = RULE_KEY) -> bytes:
    """`struct audit_rule_data` for `-a always,exit -F arch=<arch> -S <syscalls> -k <key>`."""
    mask = [0] * 64
    for nr in syscalls:
        mask[nr // 32] |= 1 << (nr % 32)
    names, values = [AUDIT_ARCH_FIELD, AUDIT_FILTERKEY], [arch, len(key)]
    pad = [0] * (64 - len(names))
    head = _RULE_HEAD.pack(
        AUDIT_FILTER_EXIT, AUDIT_ALWAYS, len(names), *mask,
        *names, *pad, *values, *pad, AUDIT_EQUAL, AUDIT_EQUAL, *pad, len(key),
    )  # fmt: skip
    return head + key.encode()


def is_own_rule(data: bytes, key: str = RULE_KEY) -> bool:
    """True for a listed exit rule whose only string is our key (what `rule_data` adds)."""
    if len(data) < _RULE_HEAD.size:
        return False
    head = _RULE_HEAD.unpack_from(data)
    flags, count, buflen = head[0], head[2], head[-1]
    names = head[67 : 67 + count]
    buf = data[_RULE_HEAD.size : _RULE_HEAD.size + buflen]
    return flags == AUDIT_FILTER_EXIT and AUDIT_FILTERKEY in names and buf == key.encode()


class AuditControl:
    """Requests to the kernel's audit netlink (status, rules) on a socket of its own."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
        self.sock.settimeout(5.0)  # the kernel answers at once; never hang a start or stop
        self.sock.bind((0, 0))
        self._seq = 0

    def request(self, mtype: int, payload: bytes, flags: int = NLM_F_ACK) -> list[bytes]:
        """Send one request; the payloads of the replies (an error reply raises OSError)."""
        self._seq += 1
        size = _NLMSGHDR.size + len(payload)
        self.sock.send(_NLMSGHDR.pack(size, mtype, NLM_F_REQUEST | flags, self._seq, 0) + payload)
        replies: list[bytes] = []
        while True:
            for rtype, body in _messages(self.sock.recv(1 << 16)):
                if rtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", body)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    if not flags & NLM_F_DUMP:
                        return replies
                elif rtype == NLMSG_DONE:
                    return replies
                else:
                    replies.append(body)
                    if mtype == AUDIT_GET:
                        return replies

    def status(self) -> tuple[int, ...]:
        """The kernel's `struct audit_status` as a tuple (mask, enabled, failure, pid, ...)."""
        body = self.request(AUDIT_GET, b"", flags=0)[0]
        return _STATUS.unpack(body[: _STATUS.size].ljust(_STATUS.size, b"\0"))

    def set(self, mask: int, *, enabled: int = 0, pid: int = 0, backlog: int = 0) -> None:
        """AUDIT_SET the fields named by `mask`."""
        self.request(AUDIT_SET, _STATUS.pack(mask, enabled, 0, pid, 0, backlog, 0, 0, 0, 0, 0))

    def rules(self) -> list[bytes]:
        """Every rule loaded in the kernel, as `struct audit_rule_data` blobs."""
        return self.request(AUDIT_LIST_RULES, b"", flags=NLM_F_ACK | NLM_F_DUMP)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def _messages(data: bytes) -> Iterator[tuple[int, bytes]]:
    offset = 0
    while offset + _NLMSGHDR.size <= len(data):
        length, mtype = _NLMSGHDR.unpack_from(data, offset)[:2]
        if length < _NLMSGHDR.size:
            return
        yield mtype, data[offset + _NLMSGHDR.size : offset + length]
        offset += (length + 3) & ~3


def _holder(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f"{f.read().strip()} (pid {pid})"
    except OSError:
        return f"pid {pid}"


class AuditSource(EventSource):
    """Exec events from the kernel audit subsystem (argv, cwd and uids in the records)."""

    id = "audit"

    def __init__(
        self,
        event_types: Iterable[EventType] = ALL_EVENT_TYPES,  # noqa: ARG002 (it reports execs only)
        *,
        state_path: Path = STATE_PATH,
    ) -> None:
        # The audit state found at start, kept on disk until stop restores it: a run that
        # crashed leaves it for the next one, which restores what was there before both.
        self._state_path = state_path
        self._arch, *nrs = EXEC_SYSCALLS.get(platform.machine(), (0, 0, 0))
        self._assembler = AuditAssembler(self._arch, tuple(nrs))
        self._rule = rule_data(self._arch, tuple(nrs))
        self._control: AuditControl | None = None
        self._sock: socket.socket | None = None
        self._saved: tuple[int, int] | None = None  # (enabled, backlog_limit) before start
        self._stats = SensorStats()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when this source can run here, else a one-line reason."""
        if platform.machine() not in EXEC_SYSCALLS:
            return f"no execve syscall numbers for {platform.machine()}"
        if os.geteuid() != 0:
            return "audit netlink needs root (CAP_AUDIT_CONTROL, CAP_AUDIT_READ)"
        try:
            control = AuditControl()
        except OSError as e:
            return f"no audit netlink here: {e}"
        try:
            _mask, enabled, _fail, pid, *_ = control.status()
        except OSError as e:
            return f"cannot read the audit status: {e}"
        finally:
            control.close()
        return _refusal(enabled, pid)

    def start(self) -> None:
        """Claim the audit pid, enable auditing, and add the exec rules."""
        if reason := self.unavailable_reason():
            raise SensorUnavailable(f"audit: {reason}")
        try:
            self._control = control = AuditControl()
            _mask, enabled, _fail, pid, _rate, backlog, *_ = control.status()
            if reason := _refusal(enabled, pid):
                raise SensorUnavailable(f"audit: {reason}")
            self._sock = self._open_event_socket()
            self._saved = self._found_state(enabled, backlog)
            control.set(
                AUDIT_STATUS_ENABLED | AUDIT_STATUS_BACKLOG_LIMIT,
                enabled=1,
                backlog=max(backlog, BACKLOG_LIMIT),
            )
            for stale in control.rules():
                if is_own_rule(stale):  # left by a run that crashed
                    control.request(AUDIT_DEL_RULE, stale)
            control.request(AUDIT_ADD_RULE, self._rule)
        except OSError as e:
            self.stop()
            raise SensorUnavailable(f"audit: cannot set up auditing: {e}") from e
        except SensorUnavailable:
            self.stop()
            raise

    def _found_state(self, enabled: int, backlog: int) -> tuple[int, int]:
        try:
            saved_enabled, saved_backlog = map(int, self._state_path.read_text().split())
            return saved_enabled, saved_backlog
        except (OSError, ValueError):
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            self._state_path.write_text(f"{enabled} {backlog}\n")
            return enabled, backlog

    def _open_event_socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_AUDIT)
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
            sock.bind((0, 0))
            sock.settimeout(5.0)
            # Registered from this socket: the kernel sends the records to its port.
            status = _STATUS.pack(AUDIT_STATUS_PID, 0, 0, os.getpid(), 0, 0, 0, 0, 0, 0, 0)
            hdr = _NLMSGHDR.pack(
                _NLMSGHDR.size + len(status), AUDIT_SET, NLM_F_REQUEST | NLM_F_ACK, 1, 0
            )
            sock.send(hdr + status)
            for rtype, body in _messages(sock.recv(1 << 16)):
                if rtype == NLMSG_ERROR and (code := -struct.unpack_from("=i", body)[0]):
                    if code == errno.EEXIST:
                        raise SensorUnavailable("audit: another audit listener took the pid")
                    raise OSError(code, os.strerror(code))
        except BaseException:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    def poll(self, timeout_s: float) -> list[Event]:
        """Wait up to `timeout_s` and return the exec events completed since the last poll."""
        if self._sock is None:
            raise SensorUnavailable("audit: poll() before start()")
        ready, _, _ = select.select([self._sock], [], [], timeout_s)
        events: list[Event] = []
        while ready and len(events) < 4096:
            try:
                data = self._sock.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                self._stats.dropped += 1
                continue
            # One record per datagram; kauditd's nlmsg_len leaves out the header.
            rtype = _NLMSGHDR.unpack_from(data)[1] if len(data) >= _NLMSGHDR.size else 0
            text = data[_NLMSGHDR.size :].rstrip(b"\0").decode("utf-8", "replace")
            try:
                events += self._assembler.feed(rtype, text)
            except ValueError:
                self._stats.decode_errors += 1
        events += self._assembler.tick()
        return self._received(events)

    def _received(self, events: list[Event]) -> list[Event]:
        counts = self._stats.events_by_type
        for event in events:
            # The record has no container id nor start time: read them while the process lives.
            event.proc.cgroup_id = procfs.cgroup_id(event.proc.pid)
            event.proc.start_ns = procfs.read_start_ns(event.proc.pid)
            counts[event.type] = counts.get(event.type, 0) + 1
        return events

    def stop(self) -> None:
        """Remove our rule, release the audit pid and restore the audit state as found."""
        control, self._control = self._control, None
        if control is not None:
            try:
                if self._saved is not None:
                    self._restore(control, *self._saved)
                    self._state_path.unlink(missing_ok=True)
            finally:
                control.close()
        self._saved = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _restore(self, control: AuditControl, enabled: int, backlog: int) -> None:
        for rule in control.rules():
            if rule == self._rule or is_own_rule(rule):
                control.request(AUDIT_DEL_RULE, rule)
        mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_BACKLOG_LIMIT
        if self._sock is not None:
            mask |= AUDIT_STATUS_PID
        control.set(mask, enabled=enabled, pid=0, backlog=backlog)

    def stats(self) -> SensorStats:
        """Counters since start."""
        return SensorStats(
            events_by_type=dict(self._stats.events_by_type),
            dropped=self._stats.dropped,
            decode_errors=self._stats.decode_errors,
        )


def _refusal(enabled: int, pid: int) -> str | None:
    if enabled == 2:
        return "the audit configuration is locked (enabled=2); cannot add rules"
    if pid and pid != os.getpid() and os.path.exists(f"/proc/{pid}"):
        return f"the audit pid is held by {_holder(pid)}; not taking it from another listener"
    return None


SOURCES.register(AuditSource.id, AuditSource)
