"""The record decoder, fed with records laid out as c/record.h describes (no kernel)."""

from __future__ import annotations

import re
import socket
import struct
from importlib import resources

import pytest

from stockade.model import EventType
from stockade.sensor.bpf.argspec import BUILDERS, HDR_SIZE
from stockade.sensor.bpf.decoder import DecodeError, RecordDecoder
from stockade.sensor.bpf.kinds import programs_for
from tests.support.bpf_records import record


def test_openat_uses_the_walked_path() -> None:
    rec = record(
        EventType.OPENAT, res=3, a=(2**32 - 100, 0, 0o1101, 0o644, 0, 0),
        slots=(b"x\0", b"", b"x\0tmp\0"),
    )  # fmt: skip
    ev = RecordDecoder(epoch_offset_ns=10).decode(rec)
    assert (ev.type, ev.res, ev.ts, ev.source) == ("openat", 3, 1_010, "ebpf")
    # the name argument as the call gave it (Falco's), fd.name the kernel's walk
    assert ev.args == {"fd": 3, "dirfd": -100, "name": "x", "flags": 0o1101, "mode": 0o644}
    assert ev.fd is not None and (ev.fd.name, ev.fd.num, ev.fd.type) == ("/tmp/x", 3, "file")
    assert ev.fd.nameraw == "x"
    p = ev.proc
    assert (p.pid, p.tid, p.ppid, p.vpid, p.name, p.cgroup_id) == (42, 43, 1, 5, "cat", 77)
    assert (p.loginuid, p.cap_effective, p.cap_permitted, p.start_ns) == (-1, 3, 7, 510)


def test_exec_record() -> None:
    rec = record(
        EventType.EXECVE,
        slots=(b"./sh\0", b"sh\0-c\0exit 3\0", b"dash\0bin\0usr\0", b"tmp\0"),
        flags=1,
    )
    ev = RecordDecoder(epoch_offset_ns=0).decode(rec)
    assert ev.type == "execve"
    assert ev.proc.argv == ("sh", "-c", "exit 3")
    assert (ev.proc.exepath, ev.proc.cwd, ev.proc.exe_upper_layer) == (
        "/usr/bin/dash",
        "/tmp",
        True,
    )
    assert ev.proc.cmdline == "cat -c exit 3"
    assert ev.args["filename"] == "./sh"


def test_connect_tuple() -> None:
    tup = struct.pack(
        "<HHHHHH16s16s", 2, 1, 6, 40000, 80,
        0, socket.inet_aton("10.88.0.2"), socket.inet_aton("10.88.0.3"),
    )  # fmt: skip
    ev = RecordDecoder().decode(
        record(EventType.CONNECT, a=(3, 0, 16, 0, 0, 0), slots=(b"", tup), flags=4)
    )
    assert ev.fd is not None
    assert ev.fd.name == "10.88.0.2:40000->10.88.0.3:80"
    assert (ev.fd.l4proto, ev.fd.type, ev.args["tuple"]) == ("tcp", "ipv4", ev.fd.name)


def test_failed_connect_keeps_the_port_it_tried() -> None:
    # A refused connect leaves the socket without its peer port: the tuple reads ...:0.
    tup = struct.pack(
        "<HHHHHH16s16s", 2, 1, 6, 0, 0,
        0, socket.inet_aton("0.0.0.0"), socket.inet_aton("10.88.0.3"),
    )  # fmt: skip
    addr = struct.pack("<H", 2) + struct.pack(">H", 8080) + socket.inet_aton("10.88.0.3")
    ev = RecordDecoder().decode(
        record(EventType.CONNECT, a=(3, 0, 16, 0, 0, 0), res=-111, slots=(addr, tup), flags=4)
    )
    assert ev.fd is not None
    assert (ev.fd.dip, ev.fd.dport, ev.res) == ("10.88.0.3", 8080, -111)
    assert ev.fd.name == "0.0.0.0:0->10.88.0.3:8080"


@pytest.mark.parametrize(
    "rec",
    [
        b"",
        b"\0" * 100,
        record(EventType.OPEN)[:40],
        record(EventType.OPEN, slots=(b"/x\0",))[:-1],
    ],
    ids=["empty", "short", "cut-header", "cut-slot"],
)
def test_short_records_are_rejected(rec: bytes) -> None:
    with pytest.raises(DecodeError):
        RecordDecoder().decode(rec)


def test_every_syscall_program_has_a_kind() -> None:
    source = (resources.files("stockade.sensor.bpf") / "c" / "sensor.bpf.c").read_text()
    in_c = {f"enter_{m}" for m in re.findall(r"^SYSCALL(?:_IO|_DUP|_PAIRS)?\((\w+),", source, re.M)}
    # pairs written out (close reads its fd at enter), the generic pair aside
    in_c |= {f"enter_{m}" for m in re.findall(r"^int enter_(\w+)\(", source, re.M)}
    in_c.discard("enter_generic")
    wanted = {p for t in EventType for p in programs_for(t) if p.startswith("enter_")}
    assert wanted == in_c


def test_processes_are_shared_per_identity_but_not_for_exec() -> None:
    decoder = RecordDecoder()
    first, again = (decoder.decode(record(EventType.SETUID)) for _ in range(2))
    assert first.proc is again.proc
    other = decoder.decode(record(EventType.SETUID, uid=1000))
    assert other.proc is not first.proc and other.proc.uid == 1000
    exec_rec = record(EventType.EXECVE, slots=(b"/bin/x\0", b"x\0", b"x\0bin\0", b"\0"))
    execs = [decoder.decode(exec_rec) for _ in range(2)]
    assert execs[0].proc is not execs[1].proc and execs[0].proc is not first.proc


@pytest.mark.parametrize(
    "slots",
    [(b"x\0", b"", b"x\0tmp\0"), (b"/etc/hostname\0", b"", b""), (b"", b"", b"")],
    ids=["walked", "as-given", "no-path"],
)
def test_openat_inline_path_matches_its_builder(slots: tuple[bytes, ...]) -> None:
    rec = record(EventType.OPENAT, res=-2, a=(5, 0, 0o2, 0, 0, 0), slots=slots)
    ev = RecordDecoder().decode(rec)
    lens = [len(s) for s in slots] + [0]
    offs = [HDR_SIZE, HDR_SIZE + lens[0], HDR_SIZE + lens[0] + lens[1]]
    flat = (offs[0], lens[0], offs[1], lens[1], offs[2], lens[2], offs[2] + lens[2], 0)
    args, fd = BUILDERS[EventType.OPENAT](rec, (5, 0, 0o2, 0, 0, 0), flat, -2, 0)
    assert (ev.args, ev.fd) == (args, fd)
