"""Batches split into bus messages: contiguous runs within the record and byte limits."""

from __future__ import annotations

import msgspec
import pytest

from stockade.model.wire import Batch
from stockade.platform.bus.codec import decode_body, decode_message, encode_message, split_batch
from stockade.platform.messages import IngestBatch
from tests.support.agent_client import encode_batch, make_alert, make_event


def _batch(
    first: int, last: int, alert_every: int = 7, refused: tuple[int, ...] = ()
) -> IngestBatch:
    events, alerts = [], []
    for seq in range(first, last + 1):
        if seq in refused:
            continue
        if seq % alert_every == 0:
            alerts.append(make_alert(seq, make_event(seq - 1, seq * 1000)))
        else:
            events.append(make_event(seq, seq * 1000))
    batch = Batch(
        agent_id="a1",
        first_seq=first,
        last_seq=last,
        events=events,
        alerts=alerts,
        refused=list(refused),
    )
    return IngestBatch(batch=batch, event_blobs=[msgspec.msgpack.encode(e) for e in events])


@pytest.mark.parametrize(
    ("first", "last", "max_records", "runs"),
    [(1, 10, 500, 1), (1, 1200, 500, 3), (101, 600, 500, 1), (5, 5, 1, 1), (1, 9, 4, 3)],
    ids=["small", "split-in-three", "exactly-full", "one-record", "uneven"],
)
def test_runs_are_contiguous_and_cover_the_batch(
    first: int, last: int, max_records: int, runs: int
) -> None:
    ingest = _batch(first, last, refused=(first,))
    split = split_batch(ingest, max_records=max_records)
    assert len(split) == runs
    assert split[0].first_seq == first and split[-1].last_seq == last
    for before, after in zip(split, split[1:], strict=False):
        assert after.first_seq == before.last_seq + 1
    for run in split:
        count = len(run.event_blobs) + len(run.alerts) + len(run.refused)
        assert count == run.last_seq - run.first_seq + 1 <= max_records


def test_runs_stay_under_the_byte_limit() -> None:
    ingest = _batch(1, 100, alert_every=1000)
    limit = max(map(len, ingest.event_blobs)) * 10
    split = split_batch(ingest, max_bytes=limit)
    assert len(split) >= 10
    assert all(sum(map(len, run.event_blobs)) <= limit for run in split)


def test_a_message_decodes_to_the_records_sent() -> None:
    ingest = _batch(1, 30, refused=(3,))
    [run] = split_batch(ingest)
    decoded = decode_message(encode_message(run))
    assert decoded.batch == ingest.batch
    assert decoded.event_blobs == ingest.event_blobs


def test_an_agent_body_decodes_to_the_records_sent() -> None:
    ingest = _batch(1, 30, refused=(3,))
    decoded = decode_body(encode_batch(ingest.batch))
    assert decoded.batch == ingest.batch
    assert decoded.event_blobs == ingest.event_blobs
