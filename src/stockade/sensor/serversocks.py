"""Sockets that were already servers when the sensor started, from /proc/PID/net.

The kernel program learns a socket's server role when it sees the accept, bind or listen
that made it one. Sockets older than the sensor are found here once at start, in every
network namespace: listening TCP sockets, TCP connections whose local port one of them
listens on (accepted ones), and UDP sockets bound to a port without a peer (Falco gives a
bound socket the server role). Their inode numbers go to the kernel (map `server_inos`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from stockade.sensor import procfs

_PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column
_ESTABLISHED = "01"


def _rows(text: str) -> Iterator[tuple[str, int, str, int, str, int]]:
    """(local address, local port, remote address, remote port, state, inode) per row."""
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        (laddr, lport), (raddr, rport) = (p.rsplit(":", 1) for p in parts[1:3])
        yield laddr, int(lport, 16), raddr, int(rport, 16), parts[3], int(parts[9])


def servers_in_tables(tcp: Iterable[str], udp: Iterable[str]) -> set[int]:
    """Inodes of server-side sockets in one namespace's tcp/tcp6 and udp/udp6 tables."""
    tcp_rows = [row for text in tcp for row in _rows(text)]
    listening = {lport for _, lport, _, _, state, _ in tcp_rows if state == _LISTEN}
    found = {
        ino
        for _, lport, _, _, state, ino in tcp_rows
        if ino and (state == _LISTEN or (state == _ESTABLISHED and lport in listening))
    }
    for text in udp:
        found |= {
            ino
            for _, lport, raddr, rport, _, ino in _rows(text)
            if ino and lport and rport == 0 and not raddr.strip("0")
        }
    return found


def _one_pid_per_netns(proc: Path) -> Iterator[int]:
    seen: set[int] = set()
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            netns = os.stat(f"{entry.path}/ns/net").st_ino
        except OSError:
            continue
        if netns not in seen:
            seen.add(netns)
            yield int(entry.name)


def server_socket_inodes(proc: Path = _PROC) -> set[int]:
    """Inodes of every server-side socket of the host, in every network namespace."""
    found: set[int] = set()
    for pid in _one_pid_per_netns(proc):
        net = proc / str(pid) / "net"
        tables = {
            name: procfs.read_text(net / name) or "" for name in ("tcp", "tcp6", "udp", "udp6")
        }
        found |= servers_in_tables((tables["tcp"], tables["tcp6"]), (tables["udp"], tables["udp6"]))
    return found
