"""Descriptor, I/O, signal and memory calls reach the sensor with Falco's names and arguments."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stockade.agent.detection import event_types_needed, fd_kinds_needed
from stockade.detect.rules import RulesDetector
from stockade.model import Event, EventType
from stockade.rules import load_rules
from stockade.sensor.bpf import BpfSource
from tests.support.sensor import collect_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]
PROGRAM = Path(__file__).parent / "programs" / "syscalls.py"
T = EventType
TYPES = {
    T.DUP, T.DUP2, T.DUP3, T.SENDTO, T.SENDMSG, T.RECVFROM, T.RECVMSG, T.WRITE, T.READ,
    T.SENDMMSG, T.RECVMMSG, T.WRITEV, T.READV, T.PWRITE, T.PREAD, T.GETSOCKOPT, T.SETSOCKOPT,
    T.SHUTDOWN,
    T.SOCKETPAIR, T.SOCKET, T.TRUNCATE, T.FTRUNCATE, T.FCHMODAT2, T.PIPE, T.PIPE2, T.CLOSE,
    T.PRCTL, T.KILL, T.TKILL, T.TGKILL, T.MMAP, T.MPROTECT, T.SIGNALDELIVER,
}  # fmt: skip
Check = Callable[[Event], bool]


def _arg(e: Event, key: str) -> object:
    return e.args.get(key)


EXPECTED: dict[str, Check] = {
    "dup": lambda e: e.res >= 0 and e.fd is not None and e.fd.type == "ipv4",
    "dup2": lambda e: e.args["newfd"] == 100 and e.fd is not None and e.fd.l4proto == "tcp",
    "dup3": lambda e: e.args["newfd"] == 101 and e.args["flags"] == 0o2000000,
    "sendto": lambda e: (
        "mining.subscribe" in str(_arg(e, "data")) and e.fd is not None and e.fd.dip == "127.0.0.1"
    ),
    "recvfrom": lambda e: "mining.subscribe" in str(_arg(e, "data")),
    "sendmsg": lambda e: _arg(e, "data") == "sendmsg-data" and "tuple" in e.args,
    "recvmsg": lambda e: _arg(e, "data") == "sendmsg-data",
    "sendmmsg": lambda e: (
        _arg(e, "data") == "mmsg-data"
        and e.args["size"] == 9
        and e.fd is not None
        and e.fd.l4proto == "udp"
    ),
    "recvmmsg": lambda e: _arg(e, "data") == "mmsg-data" and e.args["res"] == 1,
    "write": lambda e: _arg(e, "data") == "write-data" and e.fd is not None and e.fd.sport > 0,
    "read": lambda e: _arg(e, "data") == "write-data",
    "writev": lambda e: _arg(e, "data") == "writev-data",
    "readv": lambda e: _arg(e, "data") == "writev-data",
    "pwrite": lambda e: _arg(e, "data") == "pwrite-data" and e.args["pos"] == 0,
    "pread": lambda e: (
        _arg(e, "data") == "pwrite-data" and e.fd is not None and e.fd.type == "file"
    ),
    "getsockopt": lambda e: (e.args["level"], e.args["optname"], e.args["val"]) == (1, 4, 0),
    "setsockopt": lambda e: (e.args["optname"], e.args["val"]) == (9, 1),
    "shutdown": lambda e: e.args["how"] == 1,
    "socketpair": lambda e: e.args["domain"] == 1 and e.args["fd1"] >= 0 and e.args["fd2"] >= 0,
    "socket": lambda e: e.args["domain"] == 17,
    "truncate": lambda e: str(_arg(e, "path")).endswith("/trunc") and e.args["length"] == 10,
    "ftruncate": lambda e: (
        e.args["length"] == 5 and e.fd is not None and e.fd.name.endswith("/trunc")
    ),
    "fchmodat2": lambda e: str(_arg(e, "filename")).endswith("/trunc") and e.args["mode"] == 0o4755,
    "pipe2": lambda e: e.args["flags"] == 0o4000 and e.args["fd1"] >= 0 and e.args["ino"] > 0,
    "close": lambda e: e.res == 0 and isinstance(_arg(e, "fd"), int),
    "prctl": lambda e: e.args["option"] == 15 and e.args["arg2_str"] == "stockade-t",
    "kill": lambda e: e.args["sig"] == 9 and e.args["pid"] > 0,
    "tgkill": lambda e: e.args["sig"] == 0 and e.args["tid"] > 0,
    "mmap": lambda e: e.args["prot"] == 7 and e.args["flags"] == 0x22,
    "mprotect": lambda e: e.args["prot"] == 5,
    "signaldeliver": lambda e: e.args["sig"] == 10 and e.args["spid"] == e.args["dpid"] > 0,
}
if platform.machine() == "x86_64":  # the test calls these by their x86_64 numbers
    EXPECTED["pipe"] = lambda e: e.args["fd1"] >= 0 and e.args["fd2"] >= 0
    EXPECTED["tkill"] = lambda e: e.args["sig"] == 0 and e.args["tid"] > 0

# How the rules see them: Falco's names in evt.arg, the numbers in evt.rawarg.
RULES = """
- rule: reverse shell redirect
  desc: a standard stream redirected to a network connection
  condition: evt.type in (dup, dup2, dup3) and fd.type in (ipv4, ipv6) and evt.arg.newfd >= 100
  output: "%evt.args"
  priority: WARNING
- rule: miner
  desc: stratum protocol in a socket's data
  condition: evt.type in (sendto, write) and evt.buffer contains "mining.subscribe"
  output: "%evt.buffer"
  priority: WARNING
- rule: packet socket
  desc: a raw packet socket
  condition: evt.type = socket and evt.arg.domain = AF_PACKET
  output: "%evt.arg.domain"
  priority: WARNING
- rule: setuid bit
  desc: setuid bit set
  condition: evt.type = fchmodat2 and evt.arg.mode contains S_ISUID
  output: "%evt.arg.mode"
  priority: WARNING
- rule: kill
  desc: SIGKILL
  condition: evt.type = kill and evt.arg.sig = SIGKILL and evt.rawarg.sig = 9
  output: "%evt.arg.sig"
  priority: WARNING
- rule: wx memory
  desc: executable and writable anonymous memory
  condition: >
    evt.type = mmap and evt.arg.prot contains PROT_EXEC and evt.arg.prot contains PROT_WRITE
  output: "%evt.arg.prot"
  priority: WARNING
"""


@pytest.fixture(scope="module")
def source() -> Iterator[BpfSource]:
    """A source with the calls under test only (no process lifecycle)."""
    src = BpfSource(TYPES, lifecycle=False)
    src.start()
    yield src
    src.stop()


def _run_program() -> int:
    out = subprocess.run([sys.executable, str(PROGRAM)], check=True, capture_output=True)
    return int(out.stdout.split()[-1])


def _events_of(source: BpfSource, pid: int, expected: dict[str, Check]) -> list[Event]:
    """The child's events, polled until each expected type was seen passing its check."""
    missing = dict(expected)

    def checked(e: Event) -> bool:
        check = missing.get(e.type)
        if check is not None and check(e):
            del missing[e.type]
        return True

    return collect_until(
        source,
        lambda _: not missing,
        20,
        f"{sorted(expected)} of pid {pid} passing their checks",
        keep=lambda e: e.proc.pid == pid and checked(e),
    )


def test_each_call_is_seen_with_its_arguments(source: BpfSource) -> None:
    source.poll(0)
    pid = _run_program()
    mine = _events_of(source, pid, EXPECTED)
    missing = {
        t for t, check in EXPECTED.items() if not any(e.type == t and check(e) for e in mine)
    }
    got = {t: [e.args for e in mine if e.type == t][:3] for t in missing}
    assert not missing, f"not seen as expected: {got}"
    alerts = {a.rule for e in mine for a in load_rules([], sources=[("r.yaml", RULES)]).evaluate(e)}
    assert alerts == {"reverse shell redirect", "miner", "packet socket", "setuid bit", "kill",
                      "wx memory"}  # fmt: skip


def test_snaplen_bounds_the_data_kept() -> None:
    src = BpfSource({T.WRITE}, lifecycle=False, snaplen=8)
    src.start()
    try:
        pid = _run_program()
        found = _events_of(src, pid, {"write": lambda e: e.args["size"] == len("write-data")})
        writes = [e.args for e in found if e.args["size"] == len("write-data")]
        assert writes and writes[0]["data"] == "write-da"
    finally:
        src.stop()


def test_snaplen_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="snaplen"):
        BpfSource({T.WRITE}, snaplen=100_000)


def test_only_the_first_io_calls_of_a_socket_are_reported() -> None:
    code = (
        "import os, socket\n"
        "a, b = socket.socketpair()\n"
        "for i in range(10):\n"
        "    os.write(a.fileno(), b'sock-%d' % i)\n"
        "r, w = os.pipe()\n"
        "for i in range(10):\n"
        "    os.write(w, b'pipe-%d' % i)\n"
        "print(os.getpid())\n"
    )
    src = BpfSource({T.WRITE}, lifecycle=False, sock_io_max=4)
    src.start()
    try:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        pid = int(out.stdout)
        found = _events_of(src, pid, {"write": lambda e: e.args["data"] == "pipe-9"})
        data = [str(e.args["data"]) for e in found]
        assert [d for d in data if d.startswith("sock-")] == [f"sock-{i}" for i in range(4)]
        assert [d for d in data if d.startswith("pipe-")] == [f"pipe-{i}" for i in range(10)]
    finally:
        src.stop()


def test_io_calls_on_descriptors_no_rule_matches_are_dropped_in_the_kernel() -> None:
    code = (
        "import os, socket, tempfile\n"
        "srv = socket.create_server(('127.0.0.1', 0))\n"
        "tcp = socket.create_connection(srv.getsockname())\n"
        "a, b = socket.socketpair()\n"
        "r, w = os.pipe()\n"
        "f = tempfile.TemporaryFile()\n"
        "for fd in (a.fileno(), w, f.fileno()):\n"
        "    os.write(fd, b'not-ip')\n"
        "os.write(tcp.fileno(), b'ip-data')\n"
        "print(os.getpid())\n"
    )
    src = BpfSource({T.WRITE}, lifecycle=False)
    src.set_fd_kinds({"write": frozenset("46")})  # a rule on IP sockets only
    src.start()
    try:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        pid = int(out.stdout)
        found = _events_of(src, pid, {"write": lambda e: e.args["data"] == "ip-data"})
        assert [e.args["data"] for e in found] == ["ip-data"]
    finally:
        src.stop()


def test_socket_calls_come_from_the_socket_layer_when_rules_want_sockets_only() -> None:
    code = (
        "import os, socket\n"
        "srv = socket.create_server(('127.0.0.1', 0))\n"
        "tcp = socket.create_connection(srv.getsockname())\n"
        "peer, _ = srv.accept()\n"
        "tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
        "for i in range(8):\n"
        "    os.write(tcp.fileno(), b'w%03d' % i)\n"
        "    peer.recvfrom(4)\n"
        "big = socket.create_connection(srv.getsockname())\n"
        "big.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)\n"
        "far, _ = srv.accept()\n"
        "for i in range(4):\n"
        "    os.write(big.fileno(), b'B%019d' % i)\n"
        "    os.read(far.fileno(), 20)\n"
        "with open('/dev/null', 'wb') as f:\n"
        "    os.write(f.fileno(), b'file')\n"
        "print(os.getpid(), srv.getsockname()[1])\n"
    )
    types = {T.WRITE, T.READ, T.RECVFROM}  # recvfrom rides with read: both from the receive
    src = BpfSource(types, lifecycle=False, snaplen=8, sock_io_max=2)
    src.set_fd_kinds({t.value: frozenset("46") for t in types})
    src.start()
    try:
        assert {"on_sock_send", "on_sock_recv"} <= set(src.attached)
        assert not {"enter_write", "exit_write", "enter_read", "enter_recvfrom"} & set(src.attached)
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        pid, port = map(int, out.stdout.split())
        last: Check = lambda e: e.args.get("data", "").startswith("B")  # noqa: E731
        found = _events_of_any(src, pid, {"write": last})
        found += [e for e in src.poll(0.5) if e.proc.pid == pid]  # the rest: none after
        writes = [e for e in found if e.type == "write" and e.res == 4]
        # a TCP send of a few bytes: reported while the socket had sent no more than
        # sock_io_max data segments (one a call here: no delay, answered each time)
        assert [e.args["data"] for e in writes] == ["w000", "w001"]
        assert all(e.fd is not None and e.fd.dport == port for e in writes)
        # larger sends: while fewer than sock_io_max * snaplen (16) bytes went out before
        big = [e.args["data"] for e in found if e.type == "write" and e.res == 20]
        assert big == ["B0000000"]  # snaplen 8
        # other sockets' calls are counted: the first sock_io_max
        assert [e.args["data"] for e in found if e.type == "recvfrom"] == ["w000", "w001"]
    finally:
        src.stop()


SENDTO_RULE = """
- rule: stratum by sendto
  desc: a stratum request sent with sendto on an IP socket
  condition: evt.type = sendto and fd.typechar = 4 and evt.buffer contains mining.subscribe
  output: "%evt.buffer"
  priority: WARNING
"""


def test_a_rule_on_sendto_alone_gets_its_pair_and_no_socket_send_program(tmp_path: Path) -> None:
    code = (
        "import os, socket\n"
        "srv = socket.create_server(('127.0.0.1', 0))\n"
        "tcp = socket.create_connection(srv.getsockname())\n"
        "peer, _ = srv.accept()\n"
        "os.write(tcp.fileno(), b'write-first')\n"
        "tcp.sendto(b'mining.subscribe', 0, srv.getsockname())\n"
        "os.write(tcp.fileno(), b'write-last')\n"
        "print(os.getpid())\n"
    )
    path = tmp_path / "rules.yaml"
    path.write_text(SENDTO_RULE)
    rules = RulesDetector.from_paths([path])
    types = event_types_needed([rules])
    src = BpfSource(types, lifecycle=False)
    src.set_fd_kinds(fd_kinds_needed([rules], types))
    src.start()
    try:
        # sendto is a socket call anyway: its own pair, not a program on every socket send
        assert {"enter_sendto", "exit_sendto"} <= set(src.attached)
        assert not {"on_sock_send", "enter_write", "exit_write"} & set(src.attached)
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        pid = int(out.stdout)
        found = _events_of(src, pid, {"sendto": lambda e: e.args["data"] == "mining.subscribe"})
        found += [e for e in src.poll(0.5) if e.proc.pid == pid]  # the rest: no write after
        assert "write" not in {e.type for e in found}
        sent = [e for e in found if e.type == "sendto"]
        assert [a.rule for e in sent for a in rules.inspect(e)] == ["stratum by sendto"]
    finally:
        src.stop()


def test_dup_of_descriptors_no_rule_matches_is_dropped_in_the_kernel() -> None:
    code = (
        "import os, socket\n"
        "srv = socket.create_server(('127.0.0.1', 0))\n"
        "tcp = socket.create_connection(srv.getsockname())\n"
        "r, w = os.pipe()\n"
        "f = open('/dev/null', 'wb')\n"
        "for fd in (w, f.fileno()):\n"
        "    os.dup2(fd, 100)\n"
        "os.dup2(tcp.fileno(), 101)\n"
        "print(os.getpid(), tcp.fileno())\n"
    )
    src = BpfSource({T.DUP2, T.DUP3}, lifecycle=False)
    src.set_fd_kinds({"dup2": frozenset("46"), "dup3": frozenset("46")})  # reverse shells
    src.start()
    try:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        pid, sock = map(int, out.stdout.split())
        reported: Check = lambda e: e.args.get("newfd") == 101  # noqa: E731
        found = _events_of_any(src, pid, {"dup2": reported, "dup3": reported})
        dups = [e for e in found if e.type in ("dup2", "dup3")]
        assert [(e.args["oldfd"], e.args["newfd"]) for e in dups] == [(sock, 101)]
    finally:
        src.stop()


def test_poll_reports_its_descriptors_for_fdlist() -> None:
    code = (
        "import os, select\n"
        "r, w = os.pipe()\n"
        "os.write(w, b'x')\n"
        "p = select.poll()\n"
        "p.register(r, select.POLLIN)\n"
        "p.register(w, select.POLLOUT)\n"
        "p.poll(0)\n"
        "print(os.getpid(), r, w)\n"
    )
    src = BpfSource({T.POLL, T.PPOLL}, lifecycle=False)
    src.start()
    try:
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        pid, r, w = map(int, out.stdout.split())
        two: Check = lambda e: len(e.args["fds"]) == 2  # noqa: E731
        polled = {"poll": two, "ppoll": two}
        found = [e for e in _events_of_any(src, pid, polled) if e.type in polled and two(e)]
        fds = found[-1].args["fds"]
        assert [(d["num"], d["revents"] & 0o5 != 0) for d in fds] == [(r, True), (w, True)]
        rules = load_rules([], sources=[("r.yaml", POLL_RULE)])
        assert [a.output_fields["fdlist.nums"] for a in rules.evaluate(found[-1])] == [f"{r},{w}"]
    finally:
        src.stop()


POLL_RULE = """
- rule: poll
  desc: a poll
  condition: evt.type in (poll, ppoll) and fdlist.nums != ""
  output: "%fdlist.nums"
  priority: INFO
"""


def _events_of_any(source: BpfSource, pid: int, expected: dict[str, Check]) -> list[Event]:
    """The child's events, polled until one of the expected types passed its check."""
    return collect_until(
        source,
        lambda seen: any(check(e) for e in seen for t, check in expected.items() if e.type == t),
        20,
        f"one of {sorted(expected)} of pid {pid}",
        keep=lambda e: e.proc.pid == pid,
    )


# A server polling its listening socket, an accepted connection, a pipe and a file; it
# stays alive (reading stdin) so the agent can read its descriptors as Falco's table has them.
POLLER = """
import os, select, socket, sys
srv = socket.create_server(("127.0.0.1", 0))
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
r, w = os.pipe()
f = open("/etc/hostname", "rb")
p = select.poll()
for fd in (srv.fileno(), conn.fileno(), r, f.fileno()):
    p.register(fd, select.POLLIN)
print(os.getpid(), srv.getsockname()[1], cli.getsockname()[1], flush=True)
p.poll(0)
sys.stdin.readline()
"""


def test_poll_descriptors_are_named_for_fdlist() -> None:
    src = BpfSource({T.POLL, T.PPOLL}, lifecycle=False)
    src.start()
    child = subprocess.Popen(
        [sys.executable, "-c", POLLER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        pid, port, client = map(int, child.stdout.readline().split())
        four: Check = lambda e: len(e.args["fds"]) == 4  # noqa: E731
        found = _events_of_any(src, pid, {"poll": four, "ppoll": four})
        (event,) = [e for e in found if e.type in ("poll", "ppoll") and four(e)][-1:]
    finally:
        child.kill()
        child.wait()
    rules = load_rules([], sources=[("r.yaml", FDLIST_RULE)])
    (alert,) = rules.evaluate(event)
    names = str(alert.output_fields["fdlist.names"]).split(",")
    assert names[:2] == [f"127.0.0.1:{port}", f"127.0.0.1:{client}->127.0.0.1:{port}"]
    assert names[2].startswith("pipe:[") and names[3] == "/etc/hostname"
    # the IP sockets alone; the listening one has no client end (Falco's server socket)
    assert alert.output_fields["fdlist.cips"] == "127.0.0.1"
    assert alert.output_fields["fdlist.sips"] == "127.0.0.1,127.0.0.1"
    assert alert.output_fields["fdlist.cports"] == str(client)
    assert alert.output_fields["fdlist.sports"] == f"{port},{port}"


FDLIST_RULE = """
- rule: poll
  desc: a poll
  condition: evt.type in (poll, ppoll) and fdlist.names != ""
  output: "%fdlist.names %fdlist.cips %fdlist.sips %fdlist.cports %fdlist.sports"
  priority: INFO
"""
