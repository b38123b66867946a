"""The TCP acknowledgement tracker on a real loopback connection: what the receiver's
kernel acknowledged counts, read or not; the replayed tail is whole writes, in order."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from stockade.outputs.tcp_ack import AckTracker
from tests.support.polling import poll_until


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A client socket and the server side it is connected to (which never reads)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    with client, server:
        yield client, server


def test_acknowledged_writes_leave_pending_even_unread(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    client, _ = connection
    tracker = AckTracker(resend_bytes=1 << 20, stall_timeout=10)
    for n in range(3):
        data = b"x" * 1000
        client.sendall(data)
        tracker.wrote(client, data, count=10 + n)
    poll_until(lambda: tracker.pending(client) == 0, 5, "the receiver's kernel acknowledging")


def test_after_a_reset_the_tail_is_replayed_whole_and_in_order(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    client, server = connection
    tracker = AckTracker(resend_bytes=1500, stall_timeout=10)
    writes = [bytes([65 + n]) * 1000 for n in range(4)]  # AAAA.., BBBB.., CCCC.., DDDD..
    for data in writes:
        client.sendall(data)
        tracker.wrote(client, data, count=1)
    poll_until(lambda: tracker.pending(client) == 0, 5, "all four acknowledged")
    server.close()  # dies with the data unread: its kernel resets the connection
    with pytest.raises(ConnectionResetError):
        client.sendall(b"E" * 1000)
    tracker.broken(client)
    assert tracker.replay() == writes[2] + writes[3]  # whole writes covering 1500 bytes
