"""Decoding and checking batches without a server: each refusal names what was wrong."""

from __future__ import annotations

import msgspec
import pytest
import zstandard

from stockade.model.wire import BATCH_CONTENT_TYPE, Batch
from stockade.platform.services.ingest import IngestError, check_sequences, decode_batch
from tests.support.agent_client import encode_batch, make_alert, make_event

ZSTD = zstandard.ZstdCompressor()


def _decode(body: bytes) -> Batch:
    return decode_batch(body, BATCH_CONTENT_TYPE, "zstd").batch


def test_round_trip_keeps_events_and_their_wire_bytes() -> None:
    events = [make_event(s, 1000 + s) for s in (1, 2)]
    batch = Batch(
        agent_id="a", first_seq=1, last_seq=3, events=events, alerts=[make_alert(3, events[0])]
    )
    decoded = decode_batch(encode_batch(batch), BATCH_CONTENT_TYPE, "zstd")
    assert decoded.batch == batch
    assert decoded.event_blobs == [msgspec.msgpack.encode(e) for e in events]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"", 400, "truncated"),
        (b"not zstd at all", 400, "not valid zstd"),
        (ZSTD.compress(b"abc") + b"tail", 400, "bytes follow the zstd frame"),
        (ZSTD.compress(b"\xc1"), 400, "not msgpack"),
        (ZSTD.compress(msgspec.msgpack.encode([1, 2, 3])), 422, "Batch schema"),
        (
            ZSTD.compress(
                msgspec.msgpack.encode(
                    {
                        "agent_id": "a",
                        "first_seq": 1,
                        "last_seq": 1,
                        "events": [{"type": "execve", "ts": "yesterday", "proc": {"pid": 1}}],
                    }
                )
            ),
            422,
            "events[0]: Expected `int`, got `str` - at `$.ts`",
        ),
    ],
    ids=["empty", "garbage", "trailing-bytes", "not-msgpack", "wrong-shape", "bad-event-field"],
)
def test_bad_bodies(body: bytes, status: int, reason: str) -> None:
    with pytest.raises(IngestError) as caught:
        _decode(body)
    assert caught.value.status == status
    assert reason in caught.value.reason


def test_decompression_bomb_is_413(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockade.platform.services import ingest_checks

    monkeypatch.setattr(ingest_checks, "MAX_DECODED_BYTES", 1 << 20)
    with pytest.raises(IngestError) as caught:
        _decode(ZSTD.compress(b"\0" * (8 << 20)))
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("first", "last", "event_seqs", "alert_seqs"),
    [(1, 1, [1], []), (5, 7, [5, 7], [6]), (2, 3, [], [2, 3])],
    ids=["one", "events-and-alerts", "alerts-only"],
)
def test_sequences_covering_the_range(
    first: int, last: int, event_seqs: list[int], alert_seqs: list[int]
) -> None:
    events = [make_event(s, 1) for s in event_seqs]
    alerts = [make_alert(s, make_event(0, 1)) for s in alert_seqs]
    check_sequences(
        Batch(agent_id="a", first_seq=first, last_seq=last, events=events, alerts=alerts)
    )


def test_alert_and_event_with_the_same_seq_are_refused() -> None:
    event = make_event(1, 1)
    batch = Batch(
        agent_id="a", first_seq=1, last_seq=2, events=[event], alerts=[make_alert(1, event)]
    )
    with pytest.raises(IngestError, match="outside|duplicate|records"):
        check_sequences(batch)
