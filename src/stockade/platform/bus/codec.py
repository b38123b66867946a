"""Batches as bus messages: the agent's own request body, or runs of a few hundred records.

An agent's request body (zstd(msgpack(Batch))), once the API node validated it, travels as
it came when it fits one message (`MAX_BODY_BYTES`): nothing is encoded again, and a worker
decodes it without checking it again (`decode_body`). A batch without one, or too large,
 (up to 10,000 records) becomes messages of at most `MAX_RECORDS` records
and about `MAX_BYTES` of event bodies each, every one covering a contiguous run of
sequence numbers, so a worker can store each message on its own and in order. Events
travel as the msgpack bytes the agent sent (stored as they are).
"""

from __future__ import annotations

import gc
from collections.abc import Callable

import msgspec
import zstandard

from stockade.model.alerts import Alert
from stockade.model.events import Event
from stockade.model.wire import Batch
from stockade.platform.messages import IngestBatch

MAX_RECORDS = 500  # nats-py moves ~10k messages/s: a few hundred records each keep up
MAX_BYTES = 512 * 1024  # of event bodies; NATS refuses messages past max_payload (1 MB)
MAX_BODY_BYTES = 900 * 1024  # an agent's compressed body up to this is one message
MAX_DECODED_BYTES = 64 * 1024 * 1024  # what the API node lets a body decompress to


class WireBatch(msgspec.Struct, kw_only=True):
    """`Batch` with its record lists left as raw msgpack: counted before they are decoded."""

    agent_id: str
    first_seq: int
    last_seq: int
    events: msgspec.Raw = msgspec.Raw(b"\x90")
    alerts: msgspec.Raw = msgspec.Raw(b"\x90")
    refused: msgspec.Raw = msgspec.Raw(b"\x90")


class BusBatch(msgspec.Struct, array_like=True):
    """One message on the bus: a contiguous run of one agent's records."""

    agent_id: str
    first_seq: int
    last_seq: int
    event_blobs: list[bytes]
    alerts: list[Alert]
    refused: list[int]


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(BusBatch)
_event_decoder = msgspec.msgpack.Decoder(Event)
_wire_decoder = msgspec.msgpack.Decoder(WireBatch)
_raws_decoder = msgspec.msgpack.Decoder(list[msgspec.Raw])
# a body's events decoded in one call: a third less than one call per event's bytes
_events_decoder = msgspec.msgpack.Decoder(list[Event])
_alerts_decoder = msgspec.msgpack.Decoder(list[Alert])
_seqs_decoder = msgspec.msgpack.Decoder(list[int])
_compressor = zstandard.ZstdCompressor(level=1)
_decompressor = zstandard.ZstdDecompressor()


def split_batch(
    ingest: IngestBatch, max_records: int = MAX_RECORDS, max_bytes: int = MAX_BYTES
) -> list[BusBatch]:
    """The batch as runs of contiguous sequence numbers, each within both limits.

    The batch must have passed `check_sequences`: its records cover its range exactly once.
    """
    batch = ingest.batch
    blobs = dict(zip((e.seq for e in batch.events), ingest.event_blobs, strict=True))
    alerts = {a.seq: a for a in batch.alerts}
    runs: list[BusBatch] = []
    current = _empty(batch.agent_id, batch.first_seq)
    size = 0
    for seq in range(batch.first_seq, batch.last_seq + 1):
        blob = blobs.get(seq)
        records = current.last_seq - current.first_seq + 1
        if records >= max_records or (blob is not None and size + len(blob) > max_bytes and size):
            runs.append(current)
            current, size = _empty(batch.agent_id, seq), 0
        current.last_seq = seq
        if blob is not None:
            current.event_blobs.append(blob)
            size += len(blob)
        elif seq in alerts:
            current.alerts.append(alerts[seq])
        else:
            current.refused.append(seq)
    runs.append(current)
    return runs


def _empty(agent_id: str, first_seq: int) -> BusBatch:
    return BusBatch(agent_id, first_seq, first_seq - 1, [], [], [])


def encode_message(run: BusBatch) -> bytes:
    """The message payload: zstd(msgpack(run))."""
    return bytes(_compressor.compress(_encoder.encode(run)))


def decode_message(payload: bytes) -> IngestBatch:
    """The batch a message carries (msgspec/zstd errors when it is not one of ours)."""
    run = _decoder.decode(_decompressor.decompress(payload))
    batch = Batch(
        agent_id=run.agent_id,
        first_seq=run.first_seq,
        last_seq=run.last_seq,
        events=_decode_events(run.event_blobs),
        alerts=run.alerts,
        refused=run.refused,
    )
    return IngestBatch(batch=batch, event_blobs=run.event_blobs)


def decode_body(payload: bytes) -> IngestBatch:
    """The batch in an agent's request body that an API node validated and published."""
    wire = _wire_decoder.decode(
        _decompressor.decompress(payload, max_output_size=MAX_DECODED_BYTES)
    )
    blobs = [bytes(raw) for raw in _raws_decoder.decode(wire.events)]
    batch = Batch(
        agent_id=wire.agent_id,
        first_seq=wire.first_seq,
        last_seq=wire.last_seq,
        events=_without_collections(lambda: _events_decoder.decode(wire.events)),
        alerts=_alerts_decoder.decode(wire.alerts),
        refused=_seqs_decoder.decode(wire.refused),
    )
    return IngestBatch(batch=batch, event_blobs=blobs)


def _decode_events(blobs: list[bytes]) -> list[Event]:
    return _without_collections(lambda: [_event_decoder.decode(blob) for blob in blobs])


def _without_collections(decode: Callable[[], list[Event]]) -> list[Event]:
    # thousands of new structs would trigger many pointless young-generation collections
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return decode()
    finally:
        if gc_was_enabled:
            gc.enable()
