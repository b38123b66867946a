"""Syslog over TCP and TLS with alerts in transit when the receiver goes down.

A receiver process that stops reading and is then killed: its kernel had acknowledged
data the process never read. The output resends the unacknowledged alerts and replays the
last `resend_bytes` acknowledged ones, so every alert arrives, in order after a rewind
(duplicates only of that replayed tail); with `resend_bytes: 0` the acknowledged-unread
alerts are lost, the case syslog itself cannot close. A path that is cut (no
acknowledgement at all) while the receiver restarts: nothing written counts as delivered.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from stockade.outputs import AlertOutputs, open_outputs
from stockade.outputs.settings import SyslogOutput
from stockade.platform.pki import ServerTls
from tests.outputs.alerts import alerts, fast_retry
from tests.support.ci import require
from tests.support.polling import poll_until
from tests.support.syslog_receiver import SyslogReceiver

FIRST = 100  # alerts read before the receiver holds
IN_TRANSIT = 2000  # alerts emitted while it does not read (~0.7 MB: more than its buffer)
RCVBUF = 64 << 10  # the receiver's socket buffer: what its kernel acknowledges unread


def _outputs(
    receiver: SyslogReceiver, queue_dir: Path, tls: ServerTls, **syslog: object
) -> AlertOutputs:
    """The syslog output to `receiver`; no acknowledgement for `timeout` (1 s) is a failure."""
    settings = SyslogOutput(
        enabled=True, host="127.0.0.1", port=receiver.port, protocol=receiver.protocol,
        ca_cert=str(tls.ca_path), **{"timeout": 1.0, **syslog},  # type: ignore[arg-type]
    )  # fmt: skip
    return open_outputs(fast_retry(queue_dir, syslog_output=settings), queue_dir)


def _seqs(receiver: SyslogReceiver) -> list[int]:
    return [int(m.cef.extension["spid"]) - 1000 for m in receiver.received() if m.cef]


def _rewound(seqs: list[int], total: int) -> tuple[int, int]:
    """Check `seqs` is 1..k then j..`total` (j <= k + 1: a rewind, nothing skipped); (k, j)."""
    k = next((i for i in range(1, len(seqs)) if seqs[i] != seqs[i - 1] + 1), len(seqs))
    head, rest = seqs[:k], seqs[k:]
    assert head == list(range(1, k + 1))
    j = rest[0] if rest else k + 1
    assert rest == list(range(j, total + 1)), "after the restart: one run to the end, in order"
    return k, j


def _hold_kill_restart(
    protocol: str, queue_dir: Path, tls: ServerTls, resend_bytes: int
) -> tuple[list[int], int]:
    """Alerts in transit when the receiver stops reading and dies; (received, confirmed)."""
    receiver = SyslogReceiver(protocol, cert=tls.cert_path, key=tls.key_path, rcvbuf=RCVBUF)
    receiver.start()
    # no stall while it holds: the kill, not a timeout, ends the connection
    outputs = _outputs(receiver, queue_dir, tls, resend_bytes=resend_bytes, timeout=10.0)
    total = FIRST + IN_TRANSIT
    try:
        outputs.emit(alerts(FIRST))
        poll_until(lambda: outputs.stats()["syslog"].sent == FIRST, 10, "the first alerts")
        receiver.hold()
        outputs.emit(alerts(IN_TRANSIT, first=FIRST + 1))
        # the receiver's kernel acknowledges what fits its buffer; the rest waits with us
        poll_until(
            lambda: outputs.stats()["syslog"].sent > receiver.frames, 10, "acknowledged, unread"
        )
        confirmed = outputs.stats()["syslog"].sent
        assert confirmed < total, "alerts written but unacknowledged still count as queued"
        receiver.kill()
        receiver.start()
        poll_until(lambda: outputs.stats()["syslog"].queued == 0, 20, "every alert confirmed")
        poll_until(lambda: _seqs(receiver)[-1:] == [total], 10, "the last alert received")
    finally:
        outputs.close()
        receiver.stop()
    return _seqs(receiver), confirmed


@pytest.mark.parametrize("protocol", ["tcp", "tls"])
def test_a_receiver_killed_with_unread_alerts_gets_them_again(
    protocol: str, queue_dir: Path, server_tls: ServerTls
) -> None:
    seqs, confirmed = _hold_kill_restart(protocol, queue_dir, server_tls, 4 << 20)
    read, resumed = _rewound(seqs, FIRST + IN_TRANSIT)
    assert read < confirmed, "the receiver's kernel acknowledged alerts its process never read"
    assert resumed <= read + 1  # none lost; the replayed tail arrives twice


def test_without_the_replay_acknowledged_unread_alerts_are_lost(
    queue_dir: Path, server_tls: ServerTls
) -> None:
    seqs, confirmed = _hold_kill_restart("tcp", queue_dir, server_tls, 0)
    read, resumed = _rewound(seqs, FIRST + IN_TRANSIT)
    assert read < confirmed
    assert resumed > read + 1  # the acknowledged-unread ones are missing: syslog's limit


def _nft(script: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


@pytest.mark.root
def test_a_cut_path_leaves_written_alerts_queued_until_they_arrive(
    queue_dir: Path, server_tls: ServerTls
) -> None:
    require(os.path.exists("/usr/sbin/nft"), "nft missing")
    receiver = SyslogReceiver("tcp").start()
    table = f"stockade_test_cut_{os.getpid()}"
    outputs = _outputs(receiver, queue_dir, server_tls)
    try:
        outputs.emit(alerts(FIRST))
        poll_until(lambda: outputs.stats()["syslog"].sent == FIRST, 10, "the first alerts")
        _nft(
            f"table inet {table} {{\n chain input {{\n type filter hook input priority -10\n"
            f" tcp dport {receiver.port} drop\n tcp sport {receiver.port} drop\n }}\n}}\n"
        )
        outputs.emit(alerts(200, first=FIRST + 1))
        poll_until(lambda: outputs.stats()["syslog"].retries >= 1, 10, "the stall noticed")
        assert outputs.stats()["syslog"].sent == FIRST  # written, never acknowledged
        receiver.stop()  # the receiver goes away behind the cut, then comes back
        receiver.start()
        _nft(f"delete table inet {table}")
        poll_until(lambda: _seqs(receiver)[-1:] == [FIRST + 200], 20, "every alert after the cut")
    finally:
        subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
        outputs.close()
        receiver.stop()
    assert _rewound(_seqs(receiver), FIRST + 200)[0] >= FIRST
