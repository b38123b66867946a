"""Abusive batches against the real mTLS endpoint: refused with a reason, nothing stored.

A batch past the record or decompressed-size bound is 413 before its records are decoded;
integers that do not fit a signed 64-bit column and deeply nested values are 422, never a
500 the agent would retry forever. A legitimate batch still goes through afterwards.
"""

from __future__ import annotations

import struct
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import zstandard

from stockade.platform.bus.codec import MAX_DECODED_BYTES
from stockade.platform.services.batch_limits import MAX_BATCH_RECORDS, MAX_VALUE_DEPTH
from tests.support.agent_client import TestAgent, make_alert, make_event
from tests.support.platform_runner import PlatformRunner

pytestmark = pytest.mark.server

ZSTD = zstandard.ZstdCompressor()


@pytest.fixture
def agent(running: PlatformRunner, tmp_path: Path) -> TestAgent:
    return running.enroll(tmp_path)


def _stored_seqs(admin: httpx.Client, agent: TestAgent) -> list[int]:
    events = admin.get("/api/v1/events", params={"limit": 10000}).json()
    return sorted(e["seq"] for e in events if e["agent_id"] == agent.agent_id)


def _header(agent: TestAgent, last_seq: int) -> bytes:
    """A msgpack map of 4 entries up to the "events" key, whose value the caller appends."""
    head = msgspec.msgpack.encode(
        {"agent_id": agent.agent_id, "first_seq": 1, "last_seq": last_seq}
    )
    return bytes([0x84]) + head[1:] + msgspec.msgpack.encode("events")


def _assert_legit_batch_still_stored(agent: TestAgent, admin: httpx.Client) -> None:
    now = time.time_ns()
    events = [make_event(s, now + s, proc_name="limits-ok") for s in range(1, 1001)]
    r = agent.send(agent.batch(events))
    assert r.status_code == 200, r.text
    assert r.json() == {"acked_seq": 1000}
    assert _stored_seqs(admin, agent) == list(range(1, 1001))


def test_millions_of_tiny_records_are_413_before_decoding(
    agent: TestAgent, admin: httpx.Client
) -> None:
    count = 7_000_000  # the batch: a few kB compressed, 7 M one-byte records
    plain = _header(agent, count) + b"\xdd" + struct.pack(">I", count) + b"\xc0" * count
    body = ZSTD.compress(plain)
    assert len(body) < 100_000
    r = agent.post_raw(body)
    assert r.status_code == 413
    assert f"at most {MAX_BATCH_RECORDS} per batch" in r.json()["detail"]
    assert agent.client.get("/api/v1/agent/ack").json() == {"acked_seq": 0}
    _assert_legit_batch_still_stored(agent, admin)


def test_one_record_past_the_bound_is_413(agent: TestAgent, admin: httpx.Client) -> None:
    now = time.time_ns()
    events = [make_event(s, now) for s in range(1, MAX_BATCH_RECORDS + 2)]
    r = agent.send(agent.batch(events))
    assert r.status_code == 413
    assert f"batch holds {MAX_BATCH_RECORDS + 1} records" in r.json()["detail"]
    _assert_legit_batch_still_stored(agent, admin)


def test_decompression_past_the_bound_is_413(agent: TestAgent, admin: httpx.Client) -> None:
    plain = _header(agent, 1) + b"\x91" + msgspec.msgpack.encode("x" * (MAX_DECODED_BYTES + 1))
    r = agent.post_raw(ZSTD.compress(plain))
    assert r.status_code == 413
    assert f"decompresses to more than {MAX_DECODED_BYTES} bytes" in r.json()["detail"]
    _assert_legit_batch_still_stored(agent, admin)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def _event_with(seq: int, /, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = msgspec.to_builtins(make_event(seq, time.time_ns()))
    event.update(changes)
    return event


def _alert_with(seq: int, /, **changes: Any) -> dict[str, Any]:
    alert: dict[str, Any] = msgspec.to_builtins(make_alert(seq, make_event(1, time.time_ns())))
    alert["event_seq"] = 0
    alert.update(changes)
    return alert


def _raw_batch(agent: TestAgent, events: list[Any], alerts: list[Any] | None = None) -> bytes:
    batch = {
        "agent_id": agent.agent_id,
        "first_seq": 1,
        "last_seq": len(events) + len(alerts or []),
        "events": events,
        "alerts": alerts or [],
    }
    return ZSTD.compress(msgspec.msgpack.encode(batch))


@pytest.mark.parametrize(
    ("events", "alerts", "reason"),
    [
        ([_event_with(1, ts=2**63)], [], "events[0].ts = 9223372036854775808 does not fit"),
        ([_event_with(1, seq=2**64 - 1)], [], "events[0].seq = 18446744073709551615"),
        ([_event_with(1, proc={"pid": 2**63})], [], "events[0].proc.pid"),
        ([_event_with(1, args={"fd": 2**64 - 1})], [], "events[0].args.fd"),
        ([_event_with(1, args={"a": _nested(MAX_VALUE_DEPTH + 1)})], [], "nests deeper than"),
        ([], [_alert_with(1, count=2**63)], "alerts[0].count"),
        ([], [_alert_with(1, output_fields={"x": _nested(100)})], "alerts[0].output_fields.x"),
        ([], [_alert_with(1, time="9999-12-31T00:00:00Z")], "alerts[0].time"),
    ],
    ids=[
        "ts-2^63",
        "seq-2^64",
        "pid-2^63",
        "args-int",
        "args-nested",
        "alert-count",
        "alert-fields-nested",
        "alert-time-year-9999",
    ],
)
def test_values_past_the_store_bounds_are_422(
    agent: TestAgent,
    admin: httpx.Client,
    events: list[Any],
    alerts: list[Any],
    reason: str,
) -> None:
    r = agent.post_raw(_raw_batch(agent, events, alerts))
    assert r.status_code == 422, r.text
    assert reason in r.json()["detail"]
    _assert_legit_batch_still_stored(agent, admin)


def test_nesting_past_the_decoders_own_limit_is_422(agent: TestAgent, admin: httpx.Client) -> None:
    deep = b"\x91" * 100_000 + b"\x01"  # msgspec itself gives up at ~1000 levels
    base = _event_with(1)
    del base["args"]
    event = msgspec.msgpack.encode(base)
    event = bytes([event[0] + 1]) + event[1:] + msgspec.msgpack.encode("args")
    event += b"\x81" + msgspec.msgpack.encode("a") + deep
    r = agent.post_raw(ZSTD.compress(_header(agent, 1) + b"\x91" + event))
    assert r.status_code == 422, r.text
    assert "nests too deeply to decode" in r.json()["detail"]
    _assert_legit_batch_still_stored(agent, admin)


def test_largest_int64_values_are_stored(agent: TestAgent, admin: httpx.Client) -> None:
    args = {"big": 2**63 - 1, "neg": -(2**63)}
    r = agent.post_raw(_raw_batch(agent, [_event_with(1, args=args)]))
    assert r.status_code == 200, r.text
    stored = [e for e in admin.get("/api/v1/events").json() if e["agent_id"] == agent.agent_id]
    assert [e["args"] for e in stored] == [args]
