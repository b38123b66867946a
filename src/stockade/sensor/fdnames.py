"""What a process's descriptors are, read from /proc while it runs: poll's fdlist.* fields.

A poll record carries descriptor numbers only (c/io.bpf.h user_pollfds); the agent reads
each one's link in /proc/PID/fd and, for an IP socket, its addresses from the socket
tables of the process's network namespace, as Falco's fd table would show them: client
end first in the name, the local end the server when the process listens on its port.
A process already gone keeps plain numbers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from stockade.model import Event
from stockade.sensor import procfs
from stockade.sensor.procstate import fd_type

_PROC = Path("/proc")
_POLLS = frozenset({"poll", "ppoll"})
POLLS_PER_BATCH = 16
_LISTEN = "0A"
_Ends = tuple[str, str, int, str, int, bool]  # type, local ip, port, remote ip, port, listening


def _ip(hex_text: str) -> str:
    """An address of /proc/net/tcp: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_text)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    family = socket.AF_INET if len(words) == 4 else socket.AF_INET6
    text = socket.inet_ntop(family, words)
    return text.removeprefix("::ffff:") if text.startswith("::ffff:") and "." in text else text


def _sockets(pid: int, proc: Path) -> tuple[dict[int, _Ends], set[int]]:
    """IP sockets of the process's network namespace by inode, and the ports listened on."""
    found: dict[int, _Ends] = {}
    listening: set[int] = set()
    for table, kind in (("tcp", "ipv4"), ("tcp6", "ipv6"), ("udp", "ipv4"), ("udp6", "ipv6")):
        for line in (procfs.read_text(proc / str(pid) / "net" / table) or "").splitlines()[1:]:
            parts = line.split()
            if len(parts) < 10:
                continue
            (laddr, lport), (raddr, rport) = (p.rsplit(":", 1) for p in parts[1:3])
            listen = table.startswith("tcp") and parts[3] == _LISTEN
            if listen:
                listening.add(int(lport, 16))
            found[int(parts[9])] = (kind, _ip(laddr), int(lport, 16), _ip(raddr), int(rport, 16),
                                    listen)  # fmt: skip
    return found, listening


def _tables(
    pid: int, proc: Path, cache: dict[int, tuple[dict[int, _Ends], set[int]]] | None
) -> tuple[dict[int, _Ends], set[int]]:
    if cache is None:
        return _sockets(pid, proc)
    try:
        netns = os.stat(f"{proc}/{pid}/ns/net").st_ino
    except OSError:
        return {}, set()
    if netns not in cache:
        cache[netns] = _sockets(pid, proc)
    return cache[netns]


def _socket_entry(ends: _Ends, listening: set[int]) -> dict[str, Any]:
    kind, lip, lport, rip, rport, listen = ends
    if listen:  # Falco's server socket: its own address, no client end
        local = f"[{lip}]" if ":" in lip else lip
        return {"type": kind, "name": f"{local}:{lport}", "dip": lip, "dport": lport,
                "is_server": True}  # fmt: skip
    server = lport in listening
    sip, sport, dip, dport = (rip, rport, lip, lport) if server else (lip, lport, rip, rport)
    left, right = (f"[{ip}]" if ":" in ip else ip for ip in (sip, dip))
    return {"type": kind, "name": f"{left}:{sport}->{right}:{dport}", "sip": sip,
            "sport": sport, "dip": dip, "dport": dport, "is_server": server}  # fmt: skip


def name_polls(events: Iterable[Event], limit: int = POLLS_PER_BATCH) -> None:
    """Name the descriptors of up to `limit` poll events of one batch, in place (their
    args["fds"]); a network namespace's socket tables are read once per batch. The
    limit keeps a host full of pollers from slowing the reader: past it, numbers stay."""
    tables: dict[int, tuple[dict[int, _Ends], set[int]]] = {}
    for event in events:
        if limit <= 0:
            return
        if event.type in _POLLS and event.args.get("fds"):
            event.args["fds"] = describe_fds(event.proc.pid, event.args["fds"], tables=tables)
            limit -= 1


def describe_fds(
    pid: int,
    fds: Iterable[Any],
    proc: Path = _PROC,
    *,
    tables: dict[int, tuple[dict[int, _Ends], set[int]]] | None = None,
) -> list[Any]:
    """Each entry of a poll's `fds` (a number or a mapping with "num") with its type and
    name, and an IP socket's ends; entries stay as they were when /proc has no answer.
    `tables` caches socket tables by network namespace across calls."""
    sockets: tuple[dict[int, _Ends], set[int]] | None = None
    out: list[Any] = []
    for item in fds:
        num = item.get("num") if isinstance(item, Mapping) else item
        entry = dict(item) if isinstance(item, Mapping) else {"num": item}
        path = f"{proc}/{pid}/fd/{num}"
        try:
            link = os.readlink(path)
            mode = os.stat(path).st_mode if link.startswith("/") else 0
        except (OSError, TypeError):
            out.append(item)
            continue
        if link.startswith("socket:["):
            sockets = sockets if sockets is not None else _tables(pid, proc, tables)
            ends = sockets[0].get(int(link[8:-1]))
            if ends is not None:
                out.append({**entry, **_socket_entry(ends, sockets[1])})
                continue
        kind = fd_type(link, mode)
        out.append({**entry, "type": kind, "name": link.removesuffix(" (deleted)")})
    return out
