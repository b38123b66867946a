"""Enrollment and transport against the real platform: exactly once across restarts."""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stockade.agent.enroll import enroll, load_credentials, pin_ca
from stockade.agent.errors import EnrollError, TransportError
from stockade.agent.spool import Spool
from stockade.agent.transport import Transport
from stockade.model import Alert, Event, Host, Process
from stockade.platform import Platform
from tests.support.platform_runner import PlatformRunner

HOST = Host(id="transport-host", hostname="transport")


def _pin(platform: PlatformRunner) -> str:
    """The running platform's CA fingerprint, as `token create` prints it."""
    return f"sha256:{platform.platform.ca_fingerprint}"


def _events(start: int, count: int) -> list[Event]:
    return [
        Event(
            type="execve",
            ts=1_700_000_000_000_000_000 + n,
            proc=Process(pid=n, name="t"),
            host_id=HOST.id,
        )
        for n in range(start, start + count)
    ]


@pytest.mark.server
def test_enrollment_stores_credentials(platform: PlatformRunner, tmp_path: Path) -> None:
    state = tmp_path / "agent"
    creds = enroll(state, platform.agent_url, platform.token(), HOST, _pin(platform))
    assert load_credentials(state) == creds
    assert stat.S_IMODE((state / "agent.key").stat().st_mode) == 0o600
    with pytest.raises(EnrollError, match="refused"):
        enroll(tmp_path / "other", platform.agent_url, "not-a-token", HOST, _pin(platform))


@pytest.mark.server
def test_enrollment_verifies_a_pinned_ca(platform: PlatformRunner, tmp_path: Path) -> None:
    assert platform.platform is not None
    good, wrong = tmp_path / "good", tmp_path / "wrong"
    pin_ca(good, platform.platform.ca_pem.encode())
    enroll(good, platform.agent_url, platform.token(), HOST)
    other = PlatformRunner(tmp_path / "other-platform")  # another CA, never started
    other_ca = Platform.open(other.config)
    try:
        pin_ca(wrong, other_ca.ca_pem.encode())
    finally:
        other_ca.close()
    with pytest.raises(EnrollError, match="CERTIFICATE_VERIFY_FAILED"):
        enroll(wrong, platform.agent_url, platform.token(), HOST)
    assert not (wrong / "agent.key").exists()


@pytest.mark.server
def test_events_arrive_exactly_once_across_platform_restarts(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    creds = platform.credentials(state, HOST)
    spool = Spool(state / "spool")
    transport = Transport(spool, platform.agent_url, creds, batch_records=100)
    spool.append(_events(1, 250))
    spool.append(
        [
            Alert(
                uuid="u",
                output="o",
                priority="Notice",
                rule="r",
                time="t",
                output_fields={},
                host_id=HOST.id,
            )
        ]
    )
    assert transport.drain(30)
    assert spool.acked_seq == 251
    platform.stop()
    spool.append(_events(300, 120))  # caused while the platform is down
    with pytest.raises(TransportError, match="unreachable"):
        transport.send_once()
    platform.start()
    transport.platform_acked = None
    spool.append(_events(500, 30))
    assert transport.drain(30)
    transport.close()
    spool.close()
    platform.stop()
    seqs = platform.stored_event_seqs(creds.agent_id)
    assert len(seqs) == 400 and len(set(seqs)) == 400
    assert platform.stored_alert_rules(creds.agent_id) == ["r"]
    platform.start()


SENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from stockade.agent.enroll import load_credentials
    from stockade.agent.spool import Spool
    from stockade.agent.transport import Transport
    from stockade.model import Event, Process
    state, url = Path(sys.argv[1]), sys.argv[2]
    spool = Spool(state / "spool")
    events = [Event(type="execve", ts=n, proc=Process(pid=n), host_id=sys.argv[3])
              for n in range(1, 2001)]
    spool.append(events)
    print("spooled", flush=True)
    transport = Transport(spool, url, load_credentials(state), batch_records=50)
    while True:
        transport.send_once()
        print("sent", flush=True)
    """
)


@pytest.mark.server
def test_kill_9_between_spool_and_send_loses_and_duplicates_nothing(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    creds = platform.credentials(state, HOST)
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(state), platform.agent_url, HOST.id],
        stdout=subprocess.PIPE,
    )
    assert sender.stdout is not None
    assert sender.stdout.readline().strip() == b"spooled"
    assert sender.stdout.readline().strip() == b"sent"
    sender.send_signal(signal.SIGKILL)
    sender.wait()
    spool = Spool(state / "spool")
    assert spool.last_seq == 2000
    transport = Transport(spool, platform.agent_url, creds)
    assert transport.drain(30)
    transport.close()
    spool.close()
    platform.stop()
    seqs = platform.stored_event_seqs(creds.agent_id)
    assert sorted(seqs) == list(range(1, 2001))
    platform.start()


def test_raw_batch_is_a_batch_on_the_wire(tmp_path: Path) -> None:
    import msgspec
    import zstandard

    from stockade.agent.records import KIND_EVENT
    from stockade.agent.transport import RawBatch, encode_batch
    from stockade.model.wire import Batch

    spool = Spool(tmp_path)
    alert = Alert(
        uuid="u",
        output="o",
        priority="Notice",
        rule="r",
        time="t",
        output_fields={},
        host_id=HOST.id,
    )
    spool.append([*_events(1, 3), alert])
    raw = spool.read_raw(1)
    body = encode_batch(
        RawBatch(
            agent_id="a",
            first_seq=1,
            last_seq=4,
            events=[msgspec.Raw(r.payload) for r in raw if r.kind == KIND_EVENT],
            alerts=[msgspec.Raw(r.payload) for r in raw if r.kind != KIND_EVENT],
        ),
        zstandard.ZstdCompressor(),
    )
    batch = msgspec.msgpack.decode(zstandard.ZstdDecompressor().decompress(body), type=Batch)
    assert batch.events == spool.read(1)[:3] and batch.alerts == [alert]
    assert [e.seq for e in batch.events] == [1, 2, 3] and batch.alerts[0].seq == 4


def _append_framed(spool_dir: Path, seq: int, event: Event) -> None:
    """Append a record framed as `seq` to the spool's segment, whatever the event says."""
    import zlib

    import msgspec

    from stockade.agent import records

    body = records.BODY_HEAD.pack(seq, records.KIND_EVENT) + msgspec.msgpack.encode(event)
    (segment,) = spool_dir.glob("*.seg")
    with segment.open("ab") as f:
        f.write(records.HEADER.pack(len(body), zlib.crc32(body)) + body)


@pytest.mark.server
def test_records_the_platform_refuses_are_skipped_counted_and_the_stream_moves_on(
    platform: PlatformRunner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "agent"
    creds = platform.credentials(state, HOST)
    spool = Spool(state / "spool")
    spool.append(_events(1, 3))
    spool.close()
    # seq 4: an event whose own seq says 99 (422); seq 5: a time past int64 (422)
    (wrong_seq,) = _events(4, 1)
    wrong_seq.seq = 99
    _append_framed(state / "spool", 4, wrong_seq)
    (huge_ts,) = _events(5, 1)
    huge_ts.seq, huge_ts.ts = 5, 2**63
    _append_framed(state / "spool", 5, huge_ts)
    spool = Spool(state / "spool")
    spool.append(_events(6, 3))
    transport = Transport(spool, platform.agent_url, creds, batch_records=4)
    with caplog.at_level("ERROR", logger="stockade.agent.transport"):
        for _ in range(20):  # a few batches, halved around each refused record
            if transport.platform_acked == 8:
                break
            transport.send_once()
    assert transport.platform_acked == 8
    assert transport.records_refused == 2
    refusals = [r.getMessage() for r in caplog.records if "skipped and counted" in r.getMessage()]
    assert len(refusals) == 2
    assert refusals[0].startswith("record 4 refused by the platform (422)")
    assert "does not fit a signed 64-bit integer" in refusals[1]
    transport.close()
    spool.close()
    admin = platform.login()
    (agent,) = [a for a in admin.get("/api/v1/agents").json() if a["id"] == creds.agent_id]
    assert agent["records_refused"] == 2
    metrics = admin.get("/metrics").text
    admin.close()
    assert f'stockade_agent_records_refused_total{{agent_id="{creds.agent_id}"' in metrics
    platform.stop()
    assert sorted(platform.stored_event_seqs(creds.agent_id)) == [1, 2, 3, 6, 7, 8]
    platform.start()


@pytest.mark.server
def test_a_batch_refused_for_who_sends_it_stays_on_disk_and_is_reported(
    platform: PlatformRunner, tmp_path: Path
) -> None:
    from stockade.agent.transport import BatchRefused

    state = tmp_path / "agent"
    creds = platform.credentials(state, HOST)
    spool = Spool(state / "spool")
    spool.append(_events(1, 2))
    transport = Transport(spool, platform.agent_url, creds)
    transport.agent_id = "someone-else"  # not the certificate's CN: 403, not the records' fault
    with pytest.raises(BatchRefused, match="403"):
        transport.send_once()
    assert transport.refused is not None and "batch 1..2 refused" in transport.refused
    assert transport.records_refused == 0
    assert [r.seq for r in spool.read_raw(1)] == [1, 2]  # kept for the operator
    transport.close()
    spool.close()
