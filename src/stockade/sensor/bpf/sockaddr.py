"""Decode socket addresses: the kernel's sock_tuple record and raw user sockaddrs."""

from __future__ import annotations

import socket
import struct

from stockade.model import FdInfo

AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
_TUPLE = struct.Struct("<HHHHHH16s16s")
ROLE_SERVER = 1  # c/record.h sock_tuple.role: the socket came from accept (Falco's server)
L4 = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp", 255: "raw", 0: ""}  # by IP protocol
SOCK_TYPE_L4 = {1: "tcp", 2: "udp", 3: "raw"}  # by socket type, where the protocol is 0
FAMILY_TYPE = {AF_INET: "ipv4", AF_INET6: "ipv6", AF_UNIX: "unix"}  # Falco's fd.type


def _ip(family: int, raw: bytes) -> str:
    if family == AF_INET:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    return socket.inet_ntop(socket.AF_INET6, raw[:16])


def _endpoint(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def tuple_fd(num: int, raw: bytes, *, server_side: bool) -> FdInfo:
    """FdInfo from a kernel sock_tuple; names read client->server like Falco's fd.name.

    `server_side` says the local end is the server (accept, bind); a tuple whose socket
    the kernel saw accepted says so itself, for any later call on it.
    """
    family, stype, proto, lport, rport, role, laddr, raddr = _TUPLE.unpack_from(raw)
    local, remote = _ip(family, laddr), _ip(family, raddr)
    server_side = server_side or role == ROLE_SERVER
    if server_side:
        sip, sport, dip, dport = remote, rport, local, lport
    else:
        sip, sport, dip, dport = local, lport, remote, rport
    name = f"{_endpoint(sip, sport)}->{_endpoint(dip, dport)}"
    return socket_fd(num, family, stype, proto, (sip, sport, dip, dport), name, server_side)


def socket_fd(
    num: int,
    family: int,
    stype: int,
    proto: int,
    ends: tuple[str, int, str, int],
    name: str,
    server_side: bool,
) -> FdInfo:
    """The FdInfo of a socket: `ends` is (client ip, port, server ip, port)."""
    sip, sport, dip, dport = ends
    return FdInfo(
        num=num,
        type=FAMILY_TYPE.get(family, "socket"),
        name=name,
        l4proto=L4.get(proto, "") or SOCK_TYPE_L4.get(stype, ""),
        sip=sip,
        sport=sport,
        dip=dip,
        dport=dport,
        is_server=server_side,
    )


def parse_sockaddr(raw: bytes) -> tuple[str, str, int]:
    """(fd type, address, port) of a user sockaddr; address is the path for AF_UNIX."""
    if len(raw) < 2:
        return "", "", 0
    family = int.from_bytes(raw[:2], "little")
    if family == AF_INET and len(raw) >= 8:
        return "ipv4", _ip(AF_INET, raw[4:8]), int.from_bytes(raw[2:4], "big")
    if family == AF_INET6 and len(raw) >= 24:
        return "ipv6", _ip(AF_INET6, raw[8:24]), int.from_bytes(raw[2:4], "big")
    if family == AF_UNIX:
        path = raw[2:].split(b"\0", 1)[0] if raw[2:3] != b"\0" else b"@" + raw[3:].rstrip(b"\0")
        return "unix", path.decode(errors="replace"), 0
    return "", "", 0


def sockaddr_text(raw: bytes) -> str:
    """Falco's rendering of an address argument: ip:port, or the unix path."""
    kind, addr, port = parse_sockaddr(raw)
    if kind in ("ipv4", "ipv6"):
        return _endpoint(addr, port)
    return addr


def with_requested_peer(fd: FdInfo, raw: bytes) -> FdInfo:
    """`fd` with the destination the call asked for when its socket has none (port 0).

    A failed connect (ECONNREFUSED, a timeout) leaves the kernel socket without its peer,
    so its tuple reads `...->ip:0`; the address the call was given still names the port
    tried, which a port scan's connects must keep (as Falco's drivers fill it in).
    """
    if fd.dport or not raw:
        return fd
    kind, addr, port = parse_sockaddr(raw)
    if kind not in ("ipv4", "ipv6") or not port:
        return fd
    fd.dip, fd.dport = addr, port
    fd.name = f"{_endpoint(fd.sip, fd.sport)}->{_endpoint(addr, port)}"
    return fd
