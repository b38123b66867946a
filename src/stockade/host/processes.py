"""processes and sockets: processes, listening_ports, process_open_sockets.

Sockets are read once per network namespace, through a process in it (/proc/PID/net/*),
so a container's ports are found with the process and container that own them.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import msgspec

from stockade.host.procs import Proc, all_procs, image_names
from stockade.host.table import InventoryTable, Row, Scope, table

TCP_LISTEN = 0x0A
_TABLES = (("tcp", 6, 2), ("tcp6", 6, 10), ("udp", 17, 2), ("udp6", 17, 10))
TICKS = os.sysconf("SC_CLK_TCK")


def _boot_time(proc: Path) -> int:
    for line in (proc / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1])
    return 0


class ProcessRow(Row, frozen=True, kw_only=True):
    """osquery processes (the columns that do not change while a process runs)."""

    pid: int
    name: str
    path: str
    cmdline: str
    uid: int
    gid: int
    euid: int
    egid: int
    parent: int
    start_time: int


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _cmdline(path: Path) -> str:
    try:
        return path.read_bytes().replace(b"\0", b" ").strip().decode("utf-8", "replace")[:4096]
    except OSError:
        return ""


@table
class Processes(InventoryTable):
    """Every process with its container (kernel-wide: the host's view covers containers)."""

    name = "processes"
    row = ProcessRow
    host_only = True
    changes_often = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row per process."""
        boot = _boot_time(scope.proc)
        images = image_names(scope.root)
        return [
            ProcessRow(
                pid=p.pid,
                name=p.name,
                path=_link(scope.proc / str(p.pid) / "exe"),
                cmdline=_cmdline(scope.proc / str(p.pid) / "cmdline"),
                uid=p.uid,
                gid=p.gid,
                euid=p.euid,
                egid=p.egid,
                parent=p.ppid,
                start_time=boot + p.start_ticks // TICKS,
                container=p.container,
                image=images.get(p.container, ""),
            )
            for p in all_procs(scope.proc)
        ]


class Sock(msgspec.Struct, frozen=True, kw_only=True):
    """One socket of a namespace's table."""

    family: int
    protocol: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    state: int
    inode: int


def _address(hex_text: str) -> tuple[str, int]:
    addr_hex, port_hex = hex_text.split(":")
    raw = bytes.fromhex(addr_hex)
    packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # host-order words
    return str(ipaddress.ip_address(packed)), int(port_hex, 16)


def namespace_sockets(pid: int, proc: Path) -> list[Sock]:
    """Every TCP/UDP socket of the network namespace `pid` is in."""
    found: list[Sock] = []
    for name, protocol, family in _TABLES:
        try:
            text = (proc / str(pid) / "net" / name).read_text()
        except OSError:
            continue
        for line in text.splitlines()[1:]:
            f = line.split()
            if len(f) < 10:
                continue
            local, local_port = _address(f[1])
            remote, remote_port = _address(f[2])
            found.append(
                Sock(
                    family=family,
                    protocol=protocol,
                    local_address=local,
                    local_port=local_port,
                    remote_address=remote,
                    remote_port=remote_port,
                    state=int(f[3], 16),
                    inode=int(f[9]),
                )
            )
    return found


def _socket_owners(procs: list[Proc], proc: Path) -> dict[int, tuple[Proc, int]]:
    """socket inode -> (a process holding it, its fd)."""
    owners: dict[int, tuple[Proc, int]] = {}
    for p in procs:
        fd_dir = proc / str(p.pid) / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            target = _link(fd_dir / fd)
            if target.startswith("socket:["):
                owners.setdefault(int(target[8:-1]), (p, int(fd)))
    return owners


def sockets_with_owners(
    scope: Scope,
) -> list[tuple[Sock, int, Proc | None, int]]:
    """(socket, net namespace inode, owner or None, fd) for every namespace on the host."""
    procs = all_procs(scope.proc)
    by_netns: dict[int, int] = {}
    for p in procs:
        try:
            by_netns.setdefault(os.stat(scope.proc / str(p.pid) / "ns" / "net").st_ino, p.pid)
        except OSError:
            continue
    owners = _socket_owners(procs, scope.proc)
    found = []
    for netns, pid in sorted(by_netns.items()):
        for sock in namespace_sockets(pid, scope.proc):
            owner, fd = owners.get(sock.inode, (None, -1))
            found.append((sock, netns, owner, fd))
    return found


class ListeningPortRow(Row, frozen=True, kw_only=True):
    """osquery listening_ports, plus the owning process's name."""

    pid: int
    port: int
    protocol: int
    family: int
    address: str
    fd: int
    socket: int
    net_namespace: int
    process_name: str


def _listening(sock: Sock) -> bool:
    if sock.protocol == 6:
        return sock.state == TCP_LISTEN
    return sock.remote_port == 0  # an unconnected UDP socket receives from anyone


@table
class ListeningPorts(InventoryTable):
    """TCP listeners and bound UDP sockets of every network namespace, with their owner."""

    name = "listening_ports"
    row = ListeningPortRow
    host_only = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row per listening socket."""
        images = image_names(scope.root)
        return [
            ListeningPortRow(
                pid=owner.pid if owner else -1,
                port=sock.local_port,
                protocol=sock.protocol,
                family=sock.family,
                address=sock.local_address,
                fd=fd,
                socket=sock.inode,
                net_namespace=netns,
                process_name=owner.name if owner else "",
                container=owner.container if owner else "",
                image=images.get(owner.container, "") if owner else "",
            )
            for sock, netns, owner, fd in sockets_with_owners(scope)
            if _listening(sock)
        ]


class OpenSocketRow(Row, frozen=True, kw_only=True):
    """osquery process_open_sockets (connected TCP/UDP sockets)."""

    pid: int
    fd: int
    socket: int
    family: int
    protocol: int
    local_address: str
    remote_address: str
    local_port: int
    remote_port: int
    state: str
    net_namespace: int


TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
    6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING",
}  # fmt: skip


@table
class ProcessOpenSockets(InventoryTable):
    """Connected sockets of every namespace, with the owning process and container."""

    name = "process_open_sockets"
    row = OpenSocketRow
    host_only = True
    changes_often = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row per connected socket that a process holds."""
        images = image_names(scope.root)
        return [
            OpenSocketRow(
                pid=owner.pid,
                fd=fd,
                socket=sock.inode,
                family=sock.family,
                protocol=sock.protocol,
                local_address=sock.local_address,
                remote_address=sock.remote_address,
                local_port=sock.local_port,
                remote_port=sock.remote_port,
                state=TCP_STATES.get(sock.state, "") if sock.protocol == 6 else "",
                net_namespace=netns,
                container=owner.container,
                image=images.get(owner.container, ""),
            )
            for sock, netns, owner, fd in sockets_with_owners(scope)
            if owner is not None and sock.remote_port != 0
        ]
