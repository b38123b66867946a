"""Free loopback TCP ports for servers a test starts."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_pair(attempts: int = 50) -> int:
    """A port P such that P and P+1 are both free on loopback (console and agent ports)."""
    for _ in range(attempts):
        port = free_port()
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free loopback port pair found in {attempts} attempts")
