"""Messages the platform passes between ingest, bus and store."""

from __future__ import annotations

import msgspec

from stockade.model.wire import Batch


class IngestBatch(msgspec.Struct, kw_only=True):
    """A decoded agent batch plus each event's msgpack bytes as received (stored as-is).

    `body` is the agent's request body (zstd(msgpack(Batch))) once the API node validated
    it, so a shared bus can carry those bytes as they came instead of encoding the batch
    again; empty for a batch built otherwise.
    """

    batch: Batch
    event_blobs: list[bytes]
    body: bytes = b""
