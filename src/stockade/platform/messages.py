"""Messages the platform passes between ingest, bus and store."""

from __future__ import annotations

import msgspec

from stockade.model.wire import Batch


class IngestBatch(msgspec.Struct, kw_only=True):
    """A decoded agent batch plus each event's msgpack bytes as received (stored as-is)."""

    batch: Batch
    event_blobs: list[bytes]


class CheckedBody(msgspec.Struct, frozen=True):
    """An agent's request body (zstd(msgpack(Batch))) whose every record the API node
    checked: a bus carries it as it came, and it decodes without checking again."""

    agent_id: str
    first_seq: int
    last_seq: int
    body: bytes
