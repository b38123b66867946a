"""The kernel's sock_tuple read in place, with the address text cached per address pair.

Gives the very FdInfo `sockaddr.tuple_fd` gives, without slicing the tuple out of the
record or formatting the same addresses again for every connection.
"""

from __future__ import annotations

import socket
import struct

from stockade.model import FdInfo
from stockade.sensor.bpf.sockaddr import AF_INET, ROLE_SERVER, socket_fd, tuple_fd

_HEAD = struct.Struct("<HHHHHH")  # family, type, proto, local port, remote port, role
TUPLE_SIZE = 44  # c/record.h struct sock_tuple: the head, two 16-byte addrs
_CACHE_MAX = 4096
PAIRS4: dict[bytes, tuple[str, str]] = {}  # both 16-byte address fields -> (local, remote)
PAIRS6: dict[bytes, tuple[str, str]] = {}


def pair_texts(raw: bytes, family: int) -> tuple[str, str]:
    """Local and remote address as sockaddr.tuple_fd renders them (IPv6 for non-IPv4)."""
    if family == AF_INET:
        pair = (socket.inet_ntop(socket.AF_INET, raw[:4]),
                socket.inet_ntop(socket.AF_INET, raw[16:20]))  # fmt: skip
        cache = PAIRS4
    else:
        pair = (socket.inet_ntop(socket.AF_INET6, raw[:16]),
                socket.inet_ntop(socket.AF_INET6, raw[16:32]))  # fmt: skip
        cache = PAIRS6
    if len(cache) >= _CACHE_MAX:
        cache.clear()
    cache[raw] = pair
    return pair


def tuple_fd_at(rec: bytes, off: int, size: int, num: int, server_side: bool) -> FdInfo:
    """`sockaddr.tuple_fd(num, rec[off:off + size], server_side=...)`, read in place."""
    if size < TUPLE_SIZE:  # let the general reader fail (or not) exactly as it does
        return tuple_fd(num, rec[off : off + size], server_side=server_side)
    family, stype, proto, lport, rport, role = _HEAD.unpack_from(rec, off)
    server_side = server_side or role == ROLE_SERVER
    raw = rec[off + 12 : off + TUPLE_SIZE]
    pair = (PAIRS4 if family == AF_INET else PAIRS6).get(raw) or pair_texts(raw, family)
    if server_side:
        sip, dip = pair[1], pair[0]
        sport, dport = rport, lport
    else:
        sip, dip = pair
        sport, dport = lport, rport
    if family == AF_INET:
        name = f"{sip}:{sport}->{dip}:{dport}"
    else:  # an IPv6 text always holds a colon: bracketed, as sockaddr._endpoint does
        name = f"[{sip}]:{sport}->[{dip}]:{dport}"
    return socket_fd(num, family, stype, proto, (sip, sport, dip, dport), name, server_side)
