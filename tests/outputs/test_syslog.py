"""Syslog output against a real listener: RFC 5424 + CEF over UDP, TCP and TLS; a receiver
down then back loses nothing and keeps the order; the queue outlives the output."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from stockade.outputs import AlertOutputs, open_outputs
from stockade.outputs.settings import OutputSettings, SyslogOutput
from stockade.outputs.syslog import cef
from stockade.platform.pki import ServerTls
from tests.outputs.alerts import alert, alerts, fast_retry
from tests.support.polling import poll_until
from tests.support.syslog_receiver import SyslogMessage, SyslogReceiver, parse_cef


def _receiver(protocol: str, tls: ServerTls) -> SyslogReceiver:
    return SyslogReceiver(protocol, cert=tls.cert_path, key=tls.key_path).start()


def _outputs(receiver: SyslogReceiver, queue_dir: Path, tls: ServerTls) -> AlertOutputs:
    syslog = SyslogOutput(
        enabled=True, host="127.0.0.1", port=receiver.port, protocol=receiver.protocol,
        ca_cert=str(tls.ca_path),
    )  # fmt: skip
    return open_outputs(fast_retry(queue_dir, syslog_output=syslog), queue_dir)


def _seqs(messages: list[SyslogMessage]) -> list[int]:
    return [int(m.cef.extension["spid"]) - 1000 for m in messages if m.cef is not None]


def test_cef_escapes_and_round_trips() -> None:
    record = parse_cef(cef(alert(4)))
    assert (record.vendor, record.product, record.name, record.severity) == (
        "Stockade", "Stockade", "Terminal shell in container", 5,
    )  # fmt: skip
    assert record.extension["msg"] == "Shell in container (user=root proc.name=bash|x=1 n=4)"
    assert record.extension["suser"] == "root"
    assert record.extension["cs1Label"] == "containerId"
    assert record.extension["rt"] == "2026-12-06T23:17:03.000000004Z"


@pytest.mark.parametrize("protocol", ["udp", "tcp", "tls"])
def test_alerts_arrive_as_rfc5424_with_cef(
    protocol: str, queue_dir: Path, server_tls: ServerTls
) -> None:
    receiver = _receiver(protocol, server_tls)
    outputs = _outputs(receiver, queue_dir, server_tls)
    try:
        outputs.emit(alerts(20))
        poll_until(lambda: len(receiver.received()) >= 20, 10, "20 syslog messages")
        got = receiver.received()
    finally:
        outputs.close()
        receiver.stop()
    assert not receiver.errors
    first = got[0]
    assert (first.facility, first.severity) == (16, 4)  # local0, warning
    assert (first.app_name, first.hostname, first.msgid) == ("stockade", "host-b", "syscall")
    assert first.timestamp == "2026-12-06T23:17:03.000000001Z"
    assert _seqs(got) == list(range(1, 21))


@pytest.mark.parametrize("protocol", ["tcp", "tls"])
def test_a_receiver_down_then_back_gets_everything_in_order(
    protocol: str, queue_dir: Path, server_tls: ServerTls
) -> None:
    receiver = _receiver(protocol, server_tls)
    outputs = _outputs(receiver, queue_dir, server_tls)
    try:
        outputs.emit(alerts(100))
        poll_until(lambda: len(receiver.received()) == 100, 10, "the first 100 alerts")
        poll_until(lambda: outputs.stats()["syslog"].sent == 100, 10, "100 alerts sent")
        receiver.stop()
        outputs.emit(alerts(300, first=101))
        stats = outputs.stats()["syslog"]
        poll_until(lambda: outputs.stats()["syslog"].retries >= 3, 10, "retries while down")
        assert outputs.stats()["syslog"].queued == 300
        receiver.start()  # the same port
        poll_until(lambda: len(receiver.received()) >= 400, 20, "every alert after the outage")
    finally:
        outputs.close()
        receiver.stop()
    assert _seqs(receiver.received()) == list(range(1, 401))
    assert stats.dropped == 0


def test_queued_alerts_outlive_the_output(queue_dir: Path, server_tls: ServerTls) -> None:
    receiver = _receiver("tcp", server_tls)
    receiver.stop()  # down from the start
    outputs = _outputs(receiver, queue_dir, server_tls)
    outputs.emit(alerts(50))
    outputs.close()  # gives up after the drain timeout: the alerts stay on disk
    receiver.start()
    again = _outputs(receiver, queue_dir, server_tls)
    try:
        poll_until(lambda: len(receiver.received()) >= 50, 10, "the alerts queued by the last run")
    finally:
        again.close()
        receiver.stop()
    assert _seqs(receiver.received()) == list(range(1, 51))


def test_syslog_settings_are_checked(queue_dir: Path) -> None:
    from stockade.outputs import OutputError

    bad = OutputSettings(syslog_output=SyslogOutput(enabled=True, host="h", protocol="sctp"))
    with pytest.raises(OutputError, match="syslog_output.protocol 'sctp'"):
        open_outputs(bad, queue_dir)
    missing = msgspec.structs.replace(bad, syslog_output=SyslogOutput(enabled=True))
    with pytest.raises(OutputError, match="syslog_output.host is required"):
        open_outputs(missing, queue_dir)
