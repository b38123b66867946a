"""Server-side sockets found in /proc/PID/net tables, and in this host's own."""

from __future__ import annotations

import os
import socket

import pytest

from stockade.sensor.serversocks import server_socket_inodes, servers_in_tables

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"  # noqa: E501
TCP = HEADER + (
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 101 1 0\n"
    "   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000 0 0 102 1 0\n"
    "   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 0 0 103 1 0\n"
    "   3: 0100007F:D000 0100007F:0050 06 00000000:00000000 00:00000000 00000000 0 0 0 1 0\n"
)
UDP = HEADER + (
    "  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 201 2 0\n"
    "  11: 0100007F:E000 0100007F:0035 01 00000000:00000000 00:00000000 00000000 0 0 202 2 0\n"
)


def test_listening_accepted_and_bound_sockets_are_servers() -> None:
    # 101 listens on 8080, 102 is its accepted end, 103 the client; 201 is a bound UDP
    # socket without a peer, 202 a connected one; a socket without inode is skipped
    assert servers_in_tables([TCP], [UDP]) == {101, 102, 201}


@pytest.mark.root
def test_this_hosts_sockets_are_found_in_their_namespace() -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    cli = socket.create_connection(srv.getsockname())
    conn, _ = srv.accept()
    with srv, cli, conn:
        found = server_socket_inodes()
        inode = {s: os.fstat(s.fileno()).st_ino for s in (srv, cli, conn)}
    assert inode[srv] in found and inode[conn] in found
    assert inode[cli] not in found
