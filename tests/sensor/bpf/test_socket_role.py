"""Calls on an accepted socket carry Falco's server role; a connected socket's, the client's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from stockade.model import Event, EventType
from stockade.rules.fields import FIELDS
from stockade.sensor.bpf import BpfSource
from tests.support.fields import field_value
from tests.support.sensor import collect_until

pytestmark = [pytest.mark.ebpf, pytest.mark.root]
T = EventType
# A server accepts one connection; the accepted socket is read in the process and then,
# after a fork, written by the child (the role belongs to the socket, not the process).
PROGRAM = """
import os, socket
srv = socket.create_server(("127.0.0.1", 0))
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
cli.sendall(b"client-hello")
conn.recv(64)
child = os.fork()
if child == 0:
    conn.sendall(b"child-reply")
    os._exit(0)
os.waitpid(child, 0)
cli.recv(64)
ports = srv.getsockname()[1], cli.getsockname()[1]
conn.close()
cli.close()
print(os.getpid(), *ports, flush=True)
"""
FIELD_NAMES = (
    "fd.is_server", "fd.sip", "fd.sport", "fd.cip", "fd.cport", "fd.lip", "fd.lport",
    "fd.rip", "fd.rport", "fd.sockfamily", "fd.name",
)  # fmt: skip


@pytest.fixture(scope="module")
def source() -> Iterator[BpfSource]:
    """I/O calls only: the source adds the accept programs that mark server sockets (and
    drops their events, not asked for)."""
    src = BpfSource({T.READ, T.WRITE, T.SENDTO, T.RECVFROM, T.CLOSE}, lifecycle=False)
    src.start()
    yield src
    src.stop()


def _fields(event: Event) -> dict[str, object]:
    values = {}
    for name in FIELD_NAMES:
        definition, arg = FIELDS.lookup(name, None)
        values[name] = definition.extractor(arg)(event)
    return values


def _data(e: Event) -> str:
    return str(e.args.get("data", ""))


def test_accepted_socket_io_reports_the_server_role(source: BpfSource) -> None:
    source.poll(0)
    out = subprocess.run([sys.executable, "-c", PROGRAM], check=True, capture_output=True)
    pid, server_port, client_port = map(int, out.stdout.split())
    wanted = ("client-hello", "child-reply")

    def ours(e: Event) -> bool:
        if pid not in (e.proc.pid, e.proc.ppid):  # the program or its child
            return False
        return e.fd is not None and e.fd.type == "ipv4" and server_port in (e.fd.sport, e.fd.dport)

    events = collect_until(
        source,
        lambda got: (
            all(any(w in _data(e) for e in got) for w in wanted)
            and sum(e.type == "close" and e.fd is not None and e.fd.dport > 0 for e in got) >= 2
        ),
        20.0,
        "the I/O and the closes of both ends",
        keep=ours,
    )
    # (data, whether the server process itself made the call, fd.is_server) -> event
    by_role = {(w, e.proc.pid == pid, e.fd.is_server): e for e in events for w in wanted
               if w in _data(e) and e.fd is not None}  # fmt: skip
    # The server side: the accepted socket, read by the process, written by its child,
    # closed by the process (close reports the fd as it was before the call).
    server_read = by_role[("client-hello", True, True)]
    child_write = by_role[("child-reply", False, True)]
    closes = {e.fd.is_server: e for e in events  # connections: both ends have ports
              if e.type == "close" and e.fd is not None and e.fd.dport and e.fd.sport}  # fmt: skip
    for e in (server_read, child_write, closes[True]):
        assert _fields(e) == {
            "fd.is_server": True,
            "fd.sip": "127.0.0.1",
            "fd.sport": server_port,
            "fd.cip": "127.0.0.1",
            "fd.cport": client_port,
            "fd.lip": "127.0.0.1",
            "fd.lport": server_port,
            "fd.rip": "127.0.0.1",
            "fd.rport": client_port,
            "fd.sockfamily": "ip",
            "fd.name": f"127.0.0.1:{client_port}->127.0.0.1:{server_port}",
        }
    # The benign twin: the connecting socket stays the client, local port its own.
    assert not [e for e in events if e.type in ("accept", "accept4")]
    client_write = by_role[("client-hello", True, False)]
    assert _fields(closes[False])["fd.lport"] == client_port
    got = _fields(client_write)
    assert (got["fd.is_server"], got["fd.lport"], got["fd.rport"]) == (
        False,
        client_port,
        server_port,
    )
    assert got["fd.name"] == f"127.0.0.1:{client_port}->127.0.0.1:{server_port}"


# A datagram to a peer named by the call, then a connected datagram socket.
DATAGRAMS = """
import os, socket
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("127.0.0.1", 0))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
tx.sendto(b"dgram-unconnected", rx.getsockname())
cx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
cx.connect(rx.getsockname())
cx.send(b"dgram-connected")
print(os.getpid(), rx.getsockname()[1], flush=True)
"""


@pytest.fixture(scope="module")
def datagram_source() -> Iterator[BpfSource]:
    """Sends and connects."""
    src = BpfSource({T.SENDTO, T.CONNECT}, lifecycle=False)
    src.start()
    yield src
    src.stop()


def test_fd_name_changed_when_a_call_names_the_peer(datagram_source: BpfSource) -> None:
    datagram_source.poll(0)
    out = subprocess.run([sys.executable, "-c", DATAGRAMS], check=True, capture_output=True)
    pid, port = map(int, out.stdout.split())
    events = collect_until(
        datagram_source,
        lambda got: (
            {"connect", "dgram-unconnected", "dgram-connected"}
            <= {e.type for e in got} | {_data(e) for e in got}
        ),
        20.0,
        "the datagrams and the connect",
        keep=lambda e: e.proc.pid == pid and e.fd is not None and e.fd.dport == port,
    )
    changed = {
        (e.type, _data(e)): (field_value(e, "fd.name_changed"), field_value(e, "fd.connected"))
        for e in events
    }
    assert changed == {
        ("sendto", "dgram-unconnected"): (True, False),  # the tuple is the call's address
        ("connect", ""): (True, True),  # the socket takes its peer
        ("sendto", "dgram-connected"): (False, True),  # the benign twin: the name stays
    }


# Sockets made before the sensor starts: an accepted connection (and its client), a
# listening socket, a UDP socket bound to a port; after "go", each sends, and a socket
# bound to a port that then connects (a client, whatever its bind said).
OLDER_THAN_THE_SENSOR = """
import os, socket, sys
srv = socket.create_server(("127.0.0.1", 0))
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print(srv.getsockname()[1], cli.getsockname()[1], udp.getsockname()[1], flush=True)
sys.stdin.readline()
conn.send(b"old-accepted")
os.write(cli.fileno(), b"old-client")
udp.sendto(b"old-udp", ("127.0.0.1", 9))
free = socket.socket()
free.bind(("127.0.0.1", 0))
port = free.getsockname()[1]
free.close()
bound = socket.socket()
bound.bind(("127.0.0.1", port))
bound.connect(srv.getsockname())
os.write(bound.fileno(), b"bound-client")
srv.close()
print(os.getpid(), port, flush=True)
"""


def test_sockets_older_than_the_sensor_keep_their_server_role() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", OLDER_THAN_THE_SENSOR],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    server_port, client_port, udp_port = map(int, child.stdout.readline().split())
    src = BpfSource({T.WRITE, T.SENDTO, T.CLOSE}, lifecycle=False)
    src.set_fd_kinds({"write": frozenset("46")})  # writes from the socket layer
    src.start()
    try:
        child.stdin.write("go\n")
        child.stdin.flush()
        pid, bound_port = map(int, child.stdout.readline().split())
        sent = ("old-accepted", "old-client", "old-udp", "bound-client")
        events = collect_until(
            src,
            lambda got: (
                all(any(_data(e) == s for e in got) for s in sent)
                and any(e.type == "close" for e in got)
            ),
            20.0,
            "the sends and the listening socket's close",
            keep=lambda e: e.proc.pid == pid and e.fd is not None,
        )
    finally:
        src.stop()
        child.wait(10)
    by_data = {_data(e): _fields(e) for e in events if _data(e)}
    accepted = by_data["old-accepted"]
    assert (accepted["fd.is_server"], accepted["fd.lport"], accepted["fd.sport"]) == (
        True, server_port, server_port,
    )  # fmt: skip
    assert accepted["fd.cport"] == client_port
    client = by_data["old-client"]
    assert (client["fd.is_server"], client["fd.lport"]) == (False, client_port)
    udp = by_data["old-udp"]
    assert (udp["fd.is_server"], udp["fd.lport"], udp["fd.sport"]) == (True, udp_port, udp_port)
    bound = by_data["bound-client"]
    assert (bound["fd.is_server"], bound["fd.lport"]) == (False, bound_port)
    closes = [_fields(e) for e in events if e.type == "close"]
    (listening,) = [f for f in closes if f["fd.lport"] == server_port]
    assert (listening["fd.is_server"], listening["fd.sport"]) == (True, server_port)
